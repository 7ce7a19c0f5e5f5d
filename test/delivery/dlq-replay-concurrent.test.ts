import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { foldDeadLetters } from '../../src/delivery/dead-letter.ts'
import { readDeadLetterLines } from '../../src/store/dead-letter-file.ts'
import { runCli } from '../support/cli.ts'
import { daemonDocument, eventually, merchantAddress, startTestDaemon, writeDaemonConfig, type DaemonUnderTest, startMerchantWorld, type MerchantWorld } from '../support/daemon-harness.ts'
import type { ChainFixture } from '../support/reader-harness.ts'
import type { WebhookReceiver } from '../support/webhook-receiver.ts'

let world: MerchantWorld
let chain: ChainFixture
let receiver: WebhookReceiver
let d: DaemonUnderTest
let configPath: string
let dlqPath: string
const EVENTS = 24

beforeAll(async () => {
  world = await startMerchantWorld()
  ;({ chain, receiver } = world)
  // Every event dies at once (410 on its first request); a replay of it succeeds.
  receiver.setBehaviour('/acme', { kind: 'gone-once' })
  const document = daemonDocument(chain, receiver, join(chain.dir, 'data'))
  d = await startTestDaemon(document)
  configPath = join(chain.dir, 'skill.yaml')
  dlqPath = join(chain.dir, 'data', 'dlq.jsonl')
  await writeDaemonConfig(configPath, document)
})
afterAll(async () => {
  await d.stop()
  await world.close()
})

it('dlq replay while the daemon appends to the same file: no dead letter lost, none replayed twice, no line torn', async () => {
  let paying = true
  const payments = (async () => {
    try {
      for (let i = 0; i < EVENTS; i++) {
        const amount = 1_000_000n + BigInt(i)
        expect((await d.api('acme').post('invoices', { json: { uuid: randomUUID(), token: chain.token.address, amount: amount.toString() } })).statusCode).toBe(201)
        await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), amount)
      }
    } finally {
      paying = false
    }
  })()
  // Replays run back to back, as separate processes, for as long as payments keep dead-lettering.
  let replays = 0
  const replaying = (async () => {
    const deadline = Date.now() + 150_000 // a bound, not a speed: replays are processes, slow to start on a busy machine
    while (Date.now() < deadline) {
      const stillPaying = paying
      const result = await runCli(['dlq', 'replay', '--all', '--config', configPath])
      expect(result.code).toBe(0)
      replays++
      const letters = foldDeadLetters(await readDeadLetterLines(dlqPath))
      if (!stillPaying && letters.length === EVENTS && letters.every((l) => l.replayed_at !== null)) return
    }
    const letters = foldDeadLetters(await readDeadLetterLines(dlqPath)); throw new Error(`replays did not catch up: ${letters.length} letters, ${letters.filter((l) => l.replayed_at).length} replayed, ${replays} replays, received ${receiver.received.length}, statuses ${JSON.stringify(receiver.received.slice(0,4).map((r) => [r.path, r.status, r.payload.type]))}`)
  })()
  await Promise.all([payments, replaying])
  expect(replays).toBeGreaterThan(1)

  const lines = (await readFile(dlqPath, 'utf8')).split('\n').filter((line) => line !== '')
  const parsed = lines.map((line) => JSON.parse(line) as { kind: string; webhook_id: string })
  const dead = parsed.filter((l) => l.kind === 'dead_letter').map((l) => l.webhook_id)
  const replayed = parsed.filter((l) => l.kind === 'replayed').map((l) => l.webhook_id)
  expect(dead).toHaveLength(EVENTS)
  expect(new Set(dead).size).toBe(EVENTS)
  expect(replayed.sort()).toEqual([...dead].sort())

  // Each event reached the merchant exactly twice: the daemon's 410, then one replay.
  for (const id of dead) {
    const requests = receiver.received.filter((r) => r.webhookId === id)
    expect(requests.map((r) => r.status)).toEqual([410, 200])
    expect(requests.every((r) => r.verified)).toBe(true)
  }
  const list = JSON.parse((await runCli(['dlq', 'list', '--json', '--config', configPath])).stdout) as { replayed_at: string | null }[]
  expect(list).toHaveLength(EVENTS)
  expect(list.every((l) => l.replayed_at !== null)).toBe(true)
  await eventually(async () => (await runCli(['dlq', 'replay', '--all', '--config', configPath])).stdout.includes('nothing to replay'), 60_000, 'nothing left')
}, 300_000)
