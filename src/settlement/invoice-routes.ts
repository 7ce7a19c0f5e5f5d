import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config, MerchantConfig } from '../config/schema.ts'
import { ApiError, type HttpRequest, type Route } from '../ops/http-server.ts'
import type { Logger } from '../ops/logger.ts'
import type { Store } from '../store/store.ts'
import { invoiceResource, type Invoice } from './invoice.ts'
import { encodeInvoiceCursor, parseInvoiceListQuery } from './invoice-list-query.ts'
import { parseCreateInvoice } from './invoice-request.ts'

export type InvoiceRoutesParameters = { config: Config; store: Store; logger: Logger; now?: () => number }

/**
 * `POST /v1/invoices`, `GET /v1/invoices/:uuid` (SPEC §6) and `GET /v1/invoices` (the
 * merchant's own, newest first, cursor paging), authenticated per merchant
 * with `Authorization: Bearer <api_key>`.
 */
export function invoiceRoutes(parameters: InvoiceRoutesParameters): Route[] {
  const { config, store } = parameters
  const logger = parameters.logger.child({ component: 'api' })
  const now = parameters.now ?? Date.now
  const keys = config.merchants.map((merchant) => ({ merchant, digest: sha256(merchant.api_key) }))

  function authenticate(request: HttpRequest): MerchantConfig {
    const header = request.headers.authorization ?? ''
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
    if (token !== undefined) {
      const digest = sha256(token)
      // Compare with every key, in constant time, so timing tells nothing about which is close.
      const found = keys.filter((key) => timingSafeEqual(key.digest, digest))
      if (found[0] !== undefined) return found[0].merchant
    }
    throw new ApiError(401, 'unauthorized', 'missing or wrong bearer token: send Authorization: Bearer <api_key>')
  }

  async function create(request: HttpRequest) {
    const merchant = authenticate(request)
    const text = await request.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new ApiError(400, 'invalid_json', 'body is not valid JSON', '')
    }
    const parsed = parseCreateInvoice(body)
    if (!parsed.ok) throw new ApiError(400, 'invalid_request', `${parsed.path || 'body'} ${parsed.message}`, parsed.path)
    const { request: invoiceRequest, fingerprint } = parsed

    const existing = await store.findInvoice(invoiceRequest.uuid)
    if (existing !== undefined) return replay(existing, merchant, fingerprint)

    if (!merchant.tokens.includes(invoiceRequest.token)) throw new ApiError(422, 'token_not_accepted', 'token is not one of this merchant\'s tokens', 'token')
    if (invoiceRequest.receive_address !== null && !merchant.receive_addresses.includes(invoiceRequest.receive_address)) {
      throw new ApiError(422, 'address_not_owned', 'receive_address is not one of this merchant\'s receive addresses', 'receive_address')
    }
    if (invoiceRequest.expires_at !== null && Date.parse(invoiceRequest.expires_at) <= now()) throw new ApiError(400, 'invalid_request', 'expires_at is in the past', 'expires_at')

    const invoice: Invoice = {
      uuid: invoiceRequest.uuid,
      merchantId: merchant.id,
      token: invoiceRequest.token,
      amount: invoiceRequest.amount,
      receiveAddress: invoiceRequest.receive_address,
      payer: invoiceRequest.payer,
      expiresAt: invoiceRequest.expires_at,
      createdAt: new Date(now()).toISOString(),
      status: 'open',
      requestHash: fingerprint,
      settlement: null,
      delivery: null,
      reverted: [],
    }
    // Re-checked inside the transaction: two identical requests racing create one invoice.
    const stored = await store.transact(async (tx) => {
      const raced = await tx.getInvoice(invoice.uuid)
      if (raced !== undefined) return raced
      tx.putInvoice(invoice)
      return invoice
    })
    if (stored !== invoice) return replay(stored, merchant, fingerprint)
    logger.info({ merchant: merchant.id, invoice_uuid: invoice.uuid, token: invoice.token, amount: invoice.amount }, 'invoice created')
    return { status: 201, body: invoiceResource(invoice, now()) }
  }

  /** The same uuid again: the stored invoice if the request is the same, else a conflict. */
  function replay(existing: Invoice, merchant: MerchantConfig, fingerprint: string) {
    if (existing.merchantId !== merchant.id || existing.requestHash !== fingerprint) {
      throw new ApiError(409, 'conflict', 'an invoice with this uuid exists with a different body', 'uuid')
    }
    return { status: 200, body: invoiceResource(existing, now()) }
  }

  async function get(request: HttpRequest) {
    const merchant = authenticate(request)
    const uuid = (request.params.uuid ?? '').toLowerCase()
    const invoice = await store.findInvoice(uuid)
    // Another merchant's invoice is reported as absent, not forbidden: its existence is not ours to tell.
    if (invoice === undefined || invoice.merchantId !== merchant.id) throw new ApiError(404, 'not_found', 'no invoice with this uuid', 'uuid')
    return { status: 200, body: invoiceResource(invoice, now()) }
  }

  /** `GET /v1/invoices?status=&created_after=&created_before=&limit=&cursor=`: archived invoices included. */
  async function list(request: HttpRequest) {
    const merchant = authenticate(request)
    const parsed = parseInvoiceListQuery(request.query)
    if (!parsed.ok) throw new ApiError(400, 'invalid_request', `${parsed.path} ${parsed.message}`, parsed.path)
    const nowMs = now()
    const { invoices, next } = await store.listInvoices(merchant.id, parsed.query, nowMs)
    return { status: 200, body: { invoices: invoices.map((invoice) => invoiceResource(invoice, nowMs)), next_cursor: next === null ? null : encodeInvoiceCursor(next) } }
  }

  return [
    { method: 'POST', path: '/v1/invoices', handle: create },
    { method: 'GET', path: '/v1/invoices', handle: list },
    { method: 'GET', path: '/v1/invoices/:uuid', handle: get },
  ]
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
