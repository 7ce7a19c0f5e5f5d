import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { openLowdbStore } from '../../src/store/lowdb/lowdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { freePort } from '../support/anvil.ts'
import { runCli } from '../support/cli.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'
import { pendingEntry } from '../support/outbox-entry.ts'

/** `settleproof outbox list` as an operator runs it: the real CLI, a child process, beside a store another process holds. */
let dir: string
let configPath: string
let store: Store
const HOOK_TOKEN = 'tok_Zx81Qm4Lk2'
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-outbox-'))
  const merchant = (id: string, address: string) => ({
    id,
    webhook_url: `http://127.0.0.1:9/${id}?token=${HOOK_TOKEN}`,
    webhook_secret: TEST_WEBHOOK_SECRET,
    api_key: `${id}-api-key-0123`,
    receive_addresses: [address],
    tokens: ['0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'],
  })
  configPath = join(dir, 'skill.yaml')
  await writeFile(
    configPath,
    stringify({
      chain: { id: 31337, start_block: 1 },
      providers: [{ name: 'primary', url: 'http://127.0.0.1:9/a' }],
      quorum: 1,
      storage: { path: './data/store.json' },
      dlq: { path: './data/dlq.jsonl' },
      server: { port: await freePort() },
      merchants: [merchant('acme', '0x1111111111111111111111111111111111111111'), merchant('globex', '0x2222222222222222222222222222222222222222')],
    }),
  )
  // Held open, as the running daemon holds it: the command must read without the writer lock.
  store = await openLowdbStore({ path: join(dir, 'data', 'store.json'), dlqPath: join(dir, 'data', 'dlq.jsonl') })
  await store.transact((tx) => {
    tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_retry', merchantId: 'globex', invoiceUuid: '11111111-2222-4333-8444-555555555555', createdAt: at(2), state: 'retrying', attempts: 3, nextAttemptAt: Date.UTC(2026, 0, 1, 1, 0, 0), lastError: `connection failed for ?token=${HOOK_TOKEN}` }))
    tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_queued', merchantId: 'acme', invoiceUuid: null, createdAt: at(1), payload: { ...pendingEntry().payload, type: 'payment.unmatched' } }))
    tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_flight', merchantId: 'acme', createdAt: at(3), state: 'in_flight', attempts: 1 }))
    tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_done', merchantId: 'acme', createdAt: at(0), state: 'delivered', attempts: 1 }))
  })
})
afterAll(async () => {
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

const outbox = (...args: string[]) => runCli(['outbox', ...args, '--config', configPath])

describe('settleproof outbox list (real CLI child processes)', () => {
  it('prints one line per pending event, oldest first, with id, merchant, type, invoice, state, attempts, next attempt and last error, while another process holds the store', async () => {
    const result = await outbox('list')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toEqual([
      'msg_queued  acme  payment.unmatched  invoice=-  queued  attempts=0  next_attempt=now  last_error=-',
      'msg_retry  globex  invoice.settled  invoice=11111111-2222-4333-8444-555555555555  retrying  attempts=3  next_attempt=2026-01-01T01:00:00.000Z  last_error=connection failed for ?token=[redacted]',
      'msg_flight  acme  invoice.settled  invoice=b5c7e0a4-1d2e-4f3a-8b9c-0d1e2f3a4b5c  in_flight  attempts=1  next_attempt=now  last_error=-',
      '3 pending events',
    ])
  })

  it('filters by state (repeatable or comma-separated) and by merchant', async () => {
    const ids = async (...args: string[]) => {
      const result = await outbox('list', ...args)
      expect(result.code, result.stderr).toBe(0)
      return result.stdout.trimEnd().split('\n').slice(0, -1).map((line) => line.split('  ')[0])
    }
    const [retrying, queuedOrInFlight, queuedAndRetrying, acme, acmeRetrying, initech] = await Promise.all([
      ids('--status', 'retrying'),
      ids('--status', 'queued,in_flight'),
      ids('--status', 'queued', '--status', 'retrying'),
      ids('--merchant', 'acme'),
      ids('--merchant', 'acme', '--status', 'retrying'),
      outbox('list', '--merchant', 'initech'),
    ])
    expect(retrying).toEqual(['msg_retry'])
    expect(queuedOrInFlight).toEqual(['msg_queued', 'msg_flight'])
    expect(queuedAndRetrying).toEqual(['msg_queued', 'msg_retry'])
    expect(acme).toEqual(['msg_queued', 'msg_flight'])
    expect(acmeRetrying).toEqual([])
    expect(initech.stdout).toBe('no pending events\n')
  })

  it('--json: the same events as objects', async () => {
    const result = await outbox('list', '--json', '--status', 'retrying')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([
      {
        webhook_id: 'msg_retry',
        merchant_id: 'globex',
        type: 'invoice.settled',
        invoice_uuid: '11111111-2222-4333-8444-555555555555',
        state: 'retrying',
        attempts: 3,
        next_attempt_at: '2026-01-01T01:00:00.000Z',
        created_at: at(2),
        last_attempt_at: null,
        last_error: 'connection failed for ?token=[redacted]',
      },
    ])
  })

  it('lists every event however many there are (the store is read page by page)', async () => {
    const many = join(dir, 'many')
    const document = { chain: { id: 31337 }, providers: [{ name: 'primary', url: 'http://127.0.0.1:9/a' }], quorum: 1, storage: { path: './store.json' }, merchants: [{ id: 'acme', webhook_url: 'http://127.0.0.1:9/acme', webhook_secret: TEST_WEBHOOK_SECRET, api_key: 'acme-api-key-0123', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'] }] }
    const big = await openLowdbStore({ path: join(many, 'store.json'), dlqPath: join(many, 'dlq.jsonl') })
    await big.transact((tx) => {
      for (let i = 0; i < 1_203; i++) tx.putOutboxEntry(pendingEntry({ webhookId: `msg_${String(i).padStart(5, '0')}`, createdAt: at(0) }))
    })
    await big.close()
    await writeFile(join(many, 'skill.yaml'), stringify(document))
    const result = await runCli(['outbox', 'list', '--config', join(many, 'skill.yaml')])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines.length, result.stdout.slice(-300) + result.stderr).toBe(1_204)
    expect(lines.at(-1)).toBe('1203 pending events')
    expect(lines.slice(0, -1).map((line) => line.split('  ')[0])).toEqual(Array.from({ length: 1_203 }, (_, i) => `msg_${String(i).padStart(5, '0')}`))
  })

  it('says plainly when there is no store where the configuration points', async () => {
    const empty = join(dir, 'empty')
    await mkdir(empty)
    await writeFile(join(empty, 'skill.yaml'), await readFile(configPath, 'utf8'))
    const result = await runCli(['outbox', 'list', '--config', join(empty, 'skill.yaml')])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`no pending events: no store at ${join(empty, 'data', 'store.json')} (no daemon has written there yet: is this the configuration the daemon runs with?)\n`)
  })

  it('--help, and usage errors exit 2', async () => {
    const help = await runCli(['outbox', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: settleproof outbox list')
    expect((await runCli(['--help'])).stdout).toContain('outbox list')
    const refused = [['outbox'], ['outbox', 'show'], ['outbox', 'list', '--status', 'dead'], ['outbox', 'list', '--status', 'queued,sent'], ['outbox', 'list', '--limit', '3'], ['outbox', 'list', 'extra'], ['outbox', 'list', '--merchant', 'a b']]
    const results = await Promise.all(refused.map((args) => runCli([...args, '--config', configPath])))
    for (const [i, result] of results.entries()) {
      expect(result.code, refused[i]!.join(' ')).toBe(2)
      expect(result.stderr).toMatch(/^settleproof: /)
      expect(result.stdout).toBe('')
    }
    expect(results[2]!.stderr).toContain('"dead" is not a pending state: use queued, in_flight, retrying')
  })
})
