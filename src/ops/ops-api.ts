import { z } from 'zod'
import type { DeadLetterView } from '../delivery/dead-letter.ts'
import { replayDeadLetters, type ReplayOutcome } from '../delivery/dlq-replay.ts'
import { invoiceResource } from '../settlement/invoice.ts'
import { DeadLetterReplayBusyError } from '../store/errors.ts'
import { configSecrets, maskWholeSecrets } from './config-secrets.ts'
import { ApiError, registerRoutes, type HttpPlugin, type HttpRequest, type Route } from './http-server.ts'
import type { LagHistory } from './lag-history.ts'
import { operatorTokenCheck } from './operator-token.ts'
import { deadLettersView, merchantsView, opsStatus, type OpsSources } from './ops-views.ts'
import { encodePendingCursor, parsePendingOutboxQuery } from './pending-outbox-query.ts'
import { pendingOutboxView } from './pending-outbox-view.ts'

export type OpsApiParameters = OpsSources & {
  /** `server.operator_token`: the bearer token every route requires. */
  token: string
  lagHistory: LagHistory
  now?: () => number
}

const DEFAULT_DEAD_LETTER_LIMIT = 200
const MAX_DEAD_LETTER_LIMIT = 1_000

/** `POST /v1/ops/dead-letters/replay`: the same choice as `settleproof dlq replay --id … | --all`. */
const replayRequest = z.union([
  z.strictObject({ ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_DEAD_LETTER_LIMIT) }),
  z.strictObject({ all: z.literal(true) }),
])

/** Headers on every operator answer: never cached (it changes every second and is the operator's alone), never sniffed. */
const OPS_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

/**
 * The operator API of SPEC §11 under `/v1/ops/`, every route behind
 * `Authorization: Bearer <server.operator_token>` (checked in an `onRequest` hook, before any
 * route runs or any body is read). Nothing it answers holds a secret or a provider URL: the
 * views carry none, and every answer is also masked against the configuration's secrets.
 */
export function opsApi(parameters: OpsApiParameters): HttpPlugin {
  const { config, store, lagHistory } = parameters
  const now = parameters.now ?? Date.now
  const authorized = operatorTokenCheck(parameters.token)
  const secrets = configSecrets(config)

  /** The dead letters, one per webhook id with their latest replay, in the order they died. */
  const deadLetters = (): Promise<DeadLetterView[]> => store.deadLetters.list()

  const routes: Route[] = [
    { method: 'GET', path: '/v1/ops/status', handle: async () => ({ status: 200, body: await opsStatus(parameters) }) },
    {
      method: 'GET',
      path: '/v1/ops/lag',
      handle: () => {
        const at = now()
        return { status: 200, body: { window_ms: lagHistory.windowMs, interval_ms: lagHistory.intervalMs, samples: lagHistory.window(at) } }
      },
    },
    {
      method: 'GET',
      path: '/v1/ops/outbox',
      handle: async (request) => {
        const parsed = parsePendingOutboxQuery(request.query)
        if (!parsed.ok) throw new ApiError(400, 'invalid_request', `${parsed.path} ${parsed.message}`, parsed.path)
        const page = await store.read((r) => r.listPendingOutbox(parsed.query))
        return { status: 200, body: { entries: page.entries.map((entry) => pendingOutboxView(entry, secrets)), next_cursor: page.next === null ? null : encodePendingCursor(page.next) } }
      },
    },
    { method: 'GET', path: '/v1/ops/merchants', handle: async () => ({ status: 200, body: await merchantsView(parameters, await deadLetters()) }) },
    {
      method: 'GET',
      path: '/v1/ops/dead-letters',
      handle: async (request) => {
        const limitText = request.query.get('limit')
        const limit = limitText === null ? DEFAULT_DEAD_LETTER_LIMIT : /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN
        if (!(limit >= 1 && limit <= MAX_DEAD_LETTER_LIMIT)) throw new ApiError(400, 'invalid_request', `limit must be a whole number from 1 to ${MAX_DEAD_LETTER_LIMIT}`, 'limit')
        return { status: 200, body: deadLettersView(await deadLetters(), limit) }
      },
    },
    { method: 'POST', path: '/v1/ops/dead-letters/replay', handle: replay },
    {
      method: 'GET',
      path: '/v1/ops/invoices/:uuid',
      handle: async (request) => {
        const invoice = await store.findInvoice((request.params.uuid ?? '').toLowerCase())
        if (invoice === undefined) throw new ApiError(404, 'not_found', 'no invoice with this uuid', 'uuid')
        return { status: 200, body: invoiceResource(invoice, now()) }
      },
    },
  ]

  /** Replays through `replayDeadLetters`, the code `settleproof dlq replay` runs: same lock, same marks, same outcomes. */
  async function replay(request: HttpRequest) {
    let body: unknown
    try {
      body = JSON.parse(await request.text())
    } catch {
      throw new ApiError(400, 'invalid_json', 'body is not valid JSON', '')
    }
    const parsed = replayRequest.safeParse(body)
    if (!parsed.success) throw new ApiError(400, 'invalid_request', 'send {"ids": ["<webhook id>", …]} or {"all": true}', parsed.error.issues[0]?.path.join('.') ?? '')
    let outcomes: ReplayOutcome[]
    try {
      outcomes = await replayDeadLetters({ config, ids: 'ids' in parsed.data ? parsed.data.ids : [], all: 'all' in parsed.data, dryRun: false })
    } catch (error) {
      if (error instanceof DeadLetterReplayBusyError) throw new ApiError(409, 'replay_in_progress', 'another replay of the dead letters is running: try again when it has finished')
      throw error
    }
    return { status: 200, body: { outcomes: outcomes.map(outcomeView) } }
  }

  return async (app) => {
    app.addHook('onRequest', async (request) => {
      if (!authorized(request.headers.authorization)) {
        throw new ApiError(401, 'unauthorized', 'missing or wrong bearer token: send Authorization: Bearer <server.operator_token>', null, { 'www-authenticate': 'Bearer realm="settleproof-ops"' })
      }
    })
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.headers(OPS_HEADERS)
      if (typeof payload === 'string') return maskWholeSecrets(payload, secrets)
      return Buffer.isBuffer(payload) ? Buffer.from(maskWholeSecrets(payload.toString('utf8'), secrets), 'utf8') : payload
    })
    registerRoutes(app, routes)
  }
}

/** A replay outcome as the API answers it (the CLI prints the same facts). */
function outcomeView(outcome: ReplayOutcome) {
  switch (outcome.result) {
    case 'replayed':
      return { webhook_id: outcome.webhookId, result: outcome.result, status: outcome.status, merchant_id: outcome.merchantId, type: outcome.type, invoice_uuid: outcome.invoiceUuid }
    case 'would_replay':
      return { webhook_id: outcome.webhookId, result: outcome.result, merchant_id: outcome.merchantId, type: outcome.type }
    default:
      return { webhook_id: outcome.webhookId, result: outcome.result, reason: outcome.reason }
  }
}
