import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { apiKeyOf, daemonDocument, eventually, merchantAddress, secretOf, startMerchantWorld, startTestDaemon, type DaemonUnderTest, type MerchantWorld } from '../support/daemon-harness.ts'

/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against
 * a whole daemon: a real anvil chain, three providers of which one is down, a merchant
 * endpoint that says it is gone (a dead letter) and one that keeps failing (a pending event).
 */
const OPERATOR_TOKEN = 'console-token-Hq2mX8vR4kLp'
const SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url))

let world: MerchantWorld
let d: DaemonUnderTest
let browser: Browser
let page: Page
let base: string
/** Everything the browser received (pages, scripts, API answers), to look for secrets in. */
const received: { url: string; body: Promise<string> }[] = []
/** Console errors, page errors and Content-Security-Policy violations: there must be none. */
const problems: string[] = []
let mainFrameNavigations = 0
/** Answers of 400 and above the page received: only those the tests asked for. */
const failed: string[] = []
let acmeInvoice: string

beforeAll(async () => {
  world = await startMerchantWorld()
  const { chain, receiver } = world
  chain.proxies[2]!.setFault({ kind: 'down' })
  receiver.setBehaviour('/acme', { kind: 'gone-once' }) // dead-lettered at once; a replay is delivered
  receiver.setBehaviour('/globex', { kind: 'status', status: 503 }) // retrying, a minute apart
  d = await startTestDaemon(
    daemonDocument(chain, receiver, chain.dir, {
      chain: { id: chain.anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50, max_block_range: 1 },
      rpc: { timeout_ms: 5_000, retries: 1, retry_initial_delay_ms: 5, retry_max_delay_ms: 20 },
      server: { host: '127.0.0.1', port: 0, operator_token: OPERATOR_TOKEN },
      breaker: { failure_threshold: 2, success_threshold: 1, open_ms: 600_000 },
      webhooks: { max_attempts: 5, initial_delay_ms: 60_000, max_delay_ms: 60_000, timeout_ms: 5_000, concurrency: 8, drain_timeout_ms: 2_000 },
    }),
    { random: () => 1 }, // full jitter pinned to its cap: a failed attempt waits the whole minute
  )
  base = `http://127.0.0.1:${d.daemon.server.port}`
  acmeInvoice = randomUUID()
  const globexInvoice = randomUUID()
  expect((await d.api('acme').post('invoices', { json: { uuid: acmeInvoice, token: chain.token.address, amount: '1000' } })).statusCode).toBe(201)
  expect((await d.api('globex').post('invoices', { json: { uuid: globexInvoice, token: chain.token.address, amount: '2000' } })).statusCode).toBe(201)
  await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 1000n)
  await chain.token.transfer(chain.payer, merchantAddress(chain, 'globex'), 2000n)
  await eventually(() => receiver.received.some((r) => r.path === '/acme') && receiver.received.some((r) => r.path === '/globex'), 30_000, 'both merchants\' first attempts')

  browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } })
  page = await context.newPage()
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('response', (response) => {
    received.push({ url: response.url(), body: response.text().catch(() => '') })
    if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`)
  })
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) mainFrameNavigations++
  })
  await page.exposeFunction('reportViolation', (text: string) => problems.push(`CSP violation: ${text}`))
  // Runs in the page (a string: this file is compiled without the DOM's types).
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI))" })
})
afterAll(async () => {
  await browser?.close()
  await d?.stop()
  await world?.close()
})

const row = (testId: string, attribute: string, value: string) => page.locator(`[data-testid="${testId}"][${attribute}="${value}"]`)
const text = async (testId: string) => (await page.getByTestId(testId).first().textContent())?.trim() ?? ''

describe('the operator console in Chromium', () => {
  it('asks for the token, refuses a wrong one, opens with the right one, and keeps it in the tab\'s session storage only', async () => {
    await page.goto(`${base}/console`)
    await page.getByTestId('token-input').waitFor()
    expect(await page.getByTestId('checkpoint').count()).toBe(0) // nothing shown before the token

    await page.getByTestId('token-input').fill('not-the-operator-token')
    await page.getByTestId('token-form').getByRole('button').click()
    await expect.poll(() => text('token-error'), { timeout: 20_000 }).toContain('HTTP 401')

    await page.getByTestId('token-input').fill(OPERATOR_TOKEN)
    await page.getByTestId('token-form').getByRole('button').click()
    await page.getByTestId('checkpoint').waitFor()
    expect(page.url()).toBe(`${base}/console`)
    const storage = await page.evaluate("({ session: sessionStorage.getItem('settleproof.operator_token'), local: localStorage.length, cookie: document.cookie })")
    expect(storage).toEqual({ session: OPERATOR_TOKEN, local: 0, cookie: '' })
  })

  it('shows each provider with its breaker state: the one that is down open, with its failures and time to half-open', async () => {
    await expect.poll(async () => (await row('provider-row', 'data-name', 'tertiary').getByTestId('breaker').textContent())?.trim(), { timeout: 30_000 }).toBe('open')
    for (const name of ['primary', 'secondary']) expect((await row('provider-row', 'data-name', name).getByTestId('breaker').textContent())?.trim()).toBe('closed')
    const tertiary = (await row('provider-row', 'data-name', 'tertiary').textContent()) ?? ''
    expect(tertiary).toMatch(/\d+ (s|min)/) // the time until it half-opens
    expect(await page.locator('[data-testid="merchant-row"]').count()).toBe(2)
    expect(await text('cluster')).toContain('one process')
  })

  it('the lag moves as blocks are mined, on the page and on its chart, without a reload', async () => {
    const navigations = mainFrameNavigations
    await expect.poll(async () => Number(await text('lag')), { timeout: 30_000 }).toBe(0)
    const headBefore = Number(await text('head'))
    const samplesBefore = Number(await page.getByTestId('lag-chart').getAttribute('data-samples'))
    // Two providers answer eth_getLogs slowly, one block per round (the third is down): the reader falls behind the mined blocks.
    for (const proxy of world.chain.proxies.slice(0, 2)) proxy.setFault({ kind: 'slow', delayMs: 800, methods: ['eth_getLogs'] })
    await world.chain.anvil.client.mine({ blocks: 15 })
    await expect.poll(async () => Number(await text('lag')), { timeout: 30_000 }).toBeGreaterThanOrEqual(5)
    expect(Number(await text('head'))).toBeGreaterThanOrEqual(headBefore + 15)
    await expect.poll(async () => Number(await page.getByTestId('lag-chart').getAttribute('data-last-lag')), { timeout: 30_000 }).toBeGreaterThanOrEqual(5)
    for (const proxy of world.chain.proxies.slice(0, 2)) proxy.setFault({ kind: 'none' })
    await expect.poll(async () => Number(await text('lag')), { timeout: 30_000 }).toBe(0)
    await expect.poll(async () => Number(await page.getByTestId('lag-chart').getAttribute('data-last-lag')), { timeout: 30_000 }).toBe(0)
    expect(Number(await page.getByTestId('lag-chart').getAttribute('data-samples'))).toBeGreaterThan(samplesBefore)
    expect(await page.locator('[data-testid="lag-chart"] canvas').count()).toBeGreaterThan(0)
    expect(mainFrameNavigations).toBe(navigations) // refreshed in place
  })

  it('lists the pending event with its attempts, next attempt and last error, and filters by state and merchant', async () => {
    const pending = page.locator('[data-testid="pending-row"]')
    await expect.poll(() => pending.count(), { timeout: 30_000 }).toBe(1)
    const line = (await pending.first().textContent()) ?? ''
    expect(line).toContain('globex')
    expect(line).toContain('invoice.settled')
    expect(line).toContain('retrying')
    expect(line).toContain('HTTP 503')
    expect(line).toMatch(/\(in \d+ s\)/)
    await page.getByTestId('pending-status').selectOption('queued')
    await page.getByTestId('pending-empty').waitFor()
    await page.getByTestId('pending-status').selectOption('retrying')
    await page.getByTestId('pending-merchant').selectOption('acme')
    await page.getByTestId('pending-empty').waitFor()
    await page.getByTestId('pending-merchant').selectOption('globex')
    await expect.poll(() => pending.count(), { timeout: 20_000 }).toBe(1)
    await page.getByTestId('pending-status').selectOption('')
    await page.getByTestId('pending-merchant').selectOption('')
  })

  it('looks an invoice up by uuid', async () => {
    await page.getByTestId('invoice-uuid').fill(acmeInvoice)
    await page.getByTestId('invoice-form').getByRole('button').click()
    await expect.poll(() => text('invoice-status'), { timeout: 20_000 }).toBe('settled')
    expect(await text('invoice-result')).toContain('acme')
    await page.getByTestId('invoice-uuid').fill(randomUUID())
    await page.getByTestId('invoice-form').getByRole('button').click()
    await expect.poll(() => text('invoice-error'), { timeout: 20_000 }).toContain('No invoice with uuid')
    await page.getByTestId('invoice-uuid').fill(acmeInvoice)
    await page.getByTestId('invoice-form').getByRole('button').click()
    await page.getByTestId('invoice-result').waitFor()
  })

  it('takes the screenshot for the README', async () => {
    await page.locator('[data-testid="dead-letter-row"]').first().waitFor({ timeout: 30_000 })
    await mkdir(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
  })

  it('replays a dead letter once the confirmation is accepted: the receiver gets its original webhook-id, and the letter shows as replayed', async () => {
    const letter = page.locator('[data-testid="dead-letter-row"]').first()
    const webhookId = (await letter.getAttribute('data-webhook-id'))!
    expect(webhookId).toMatch(/^msg_/)
    const sent = () => world.receiver.received.filter((r) => r.webhookId === webhookId).length
    expect(sent()).toBe(1) // the 410

    // Dismissed: nothing is sent.
    const dismissed = new Promise<string>((resolve) => page.once('dialog', (dialog) => void dialog.dismiss().then(() => resolve(dialog.message()))))
    await letter.getByTestId('replay').click()
    expect(await dismissed).toContain(webhookId)
    expect(sent()).toBe(1)

    const accepted = new Promise<string>((resolve) => page.once('dialog', (dialog) => void dialog.accept().then(() => resolve(dialog.message()))))
    await letter.getByTestId('replay').click()
    expect(await accepted).toContain(webhookId)
    await expect.poll(async () => (await letter.getByTestId('replay-state').textContent())?.trim(), { timeout: 30_000 }).toMatch(/^replayed /)
    expect(await text('replay-result')).toContain(`replayed ${webhookId}: HTTP 200`)
    const deliveries = world.receiver.delivered('/acme').filter((r) => r.webhookId === webhookId)
    expect(deliveries).toHaveLength(1)
    expect(deliveries[0]).toMatchObject({ verified: true, idempotencyKey: webhookId, payload: { data: { invoice_uuid: acmeInvoice } } })
    expect(await page.getByTestId('replay-all').isDisabled()).toBe(true) // nothing left to replay
  })

  it('without the token, every /v1/ops/ route answers 401 to the page', async () => {
    const statuses = await page.evaluate(async (uuid) => {
      const routes: [string, string][] = [
        ['GET', 'v1/ops/status'],
        ['GET', 'v1/ops/lag'],
        ['GET', 'v1/ops/outbox'],
        ['GET', 'v1/ops/merchants'],
        ['GET', 'v1/ops/dead-letters'],
        ['POST', 'v1/ops/dead-letters/replay'],
        ['GET', `v1/ops/invoices/${uuid}`],
      ]
      return Promise.all(
        routes.map(async ([method, path]) => {
          const response = await fetch(path, { method, ...(method === 'POST' ? { body: '{"all":true}', headers: { 'content-type': 'application/json' } } : {}) })
          await response.text() // read whole, so the browser's record of it is complete
          return [path, response.status]
        }),
      )
    }, acmeInvoice)
    for (const [path, status] of statuses) expect(status, String(path)).toBe(401)
  })

  it('forgetting the token returns to the prompt and clears it from the tab', async () => {
    await page.getByRole('button', { name: 'Forget token' }).click()
    await page.getByTestId('token-input').waitFor()
    expect(await page.evaluate("sessionStorage.getItem('settleproof.operator_token')")).toBeNull()
  })

  it('showed no secret and no provider URL, and broke no Content-Security-Policy rule', async () => {
    const bodies = await Promise.all(received.map(async (r) => ({ url: r.url, body: await Promise.race([r.body, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000))]) })))
    expect(bodies.filter((b) => b.body === null).map((b) => b.url)).toEqual([]) // every answer was read
    const everything = [...bodies.map((b) => b.body ?? ''), await page.content()].join('\n')
    for (const secret of [OPERATOR_TOKEN, secretOf('acme'), secretOf('globex'), apiKeyOf('acme'), apiKeyOf('globex'), ...world.chain.proxies.map((p) => p.url)]) {
      expect(everything.includes(secret), secret).toBe(false)
    }
    expect(everything).toContain('HTTP 503') // the answers were read, not empty
    // The only failed loads are the ones the tests caused: the wrong token, the unknown invoice, the calls without a token.
    expect(new Set(failed)).toEqual(new Set(['401 /v1/ops/status', '401 /v1/ops/lag', '401 /v1/ops/outbox', '401 /v1/ops/merchants', '401 /v1/ops/dead-letters', '401 /v1/ops/dead-letters/replay', `401 /v1/ops/invoices/${acmeInvoice}`, expect.stringMatching(/^404 \/v1\/ops\/invoices\//)]))
    // Chromium logs each of those as a failed resource; anything else (a script error, a CSP violation) is a fault of the page.
    expect(problems.filter((p) => !/Failed to load resource: the server responded with a status of (401|404)/.test(p))).toEqual([])
    expect(problems.length).toBe(failed.length)
  })
})
