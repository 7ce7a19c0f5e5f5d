import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { initialBackfillProgress, observeRound, PROGRESS_EVERY_MS, type BackfillProgress } from '../../src/chain/backfill-progress.ts'
import type { RoundOutcome } from '../../src/chain/chain-reader.ts'
import { startCli, waitForOutput } from '../support/cli.ts'
import { daemonDocument, writeDaemonConfig } from '../support/daemon-harness.ts'
import { startChainFixture } from '../support/reader-harness.ts'
import type { WebhookReceiver } from '../support/webhook-receiver.ts'

const advanced = (fromBlock: number, toBlock: number, accepted: number, caughtUp: boolean): RoundOutcome => ({ kind: 'advanced', fromBlock, toBlock, accepted, caughtUp })

/** Runs rounds through the tracker and returns every line written, with the time it was written at. */
function run(rounds: [RoundOutcome, { checkpoint: number; safeHead: number | null }, number][], start: BackfillProgress = initialBackfillProgress) {
  let progress = start
  const lines: { at: number; message: string; fields: Record<string, number | null> }[] = []
  for (const [outcome, position, at] of rounds) {
    const step = observeRound(progress, outcome, position, at)
    progress = step.progress
    lines.push(...step.lines.map((line) => ({ at, ...line })))
  }
  return { progress, lines }
}

describe('observeRound', () => {
  it('says where a backfill starts and how far it has to go, then one line when caught up', () => {
    const { lines, progress } = run([
      [advanced(101, 200, 5, false), { checkpoint: 200, safeHead: 1100 }, 0],
      [advanced(201, 300, 0, false), { checkpoint: 300, safeHead: 1100 }, 1_000],
      [advanced(301, 1100, 7, true), { checkpoint: 1100, safeHead: 1100 }, 2_000],
      [advanced(1101, 1101, 1, true), { checkpoint: 1101, safeHead: 1101 }, 3_000],
    ])
    expect(lines).toEqual([
      { at: 0, message: 'backfill: reading from the checkpoint up to the safe head', fields: { checkpoint: 100, safe_head: 1100, blocks_behind: 1000 } },
      { at: 2_000, message: 'backfill caught up: at the safe head, following new blocks', fields: { checkpoint: 1100, blocks_read: 1000, logs_accepted: 12, duration_ms: 2_000 } },
    ])
    expect(progress.phase).toBe('caught_up')
  })

  it('writes a progress line at most every PROGRESS_EVERY_MS, with blocks/s, logs accepted and the time left', () => {
    const { lines } = run([
      [advanced(1, 100, 10, false), { checkpoint: 100, safeHead: 10_000 }, 0],
      [advanced(101, 200, 10, false), { checkpoint: 200, safeHead: 10_000 }, PROGRESS_EVERY_MS - 1],
      [advanced(201, 300, 10, false), { checkpoint: 300, safeHead: 10_000 }, PROGRESS_EVERY_MS],
      [advanced(301, 400, 10, false), { checkpoint: 400, safeHead: 10_000 }, PROGRESS_EVERY_MS + 5_000],
      [advanced(401, 500, 10, false), { checkpoint: 500, safeHead: 10_000 }, 2 * PROGRESS_EVERY_MS],
    ])
    expect(lines.map((line) => line.at)).toEqual([0, PROGRESS_EVERY_MS, 2 * PROGRESS_EVERY_MS])
    expect(lines[1]).toEqual({ at: PROGRESS_EVERY_MS, message: 'backfill progress', fields: { checkpoint: 300, safe_head: 10_000, blocks_behind: 9_700, blocks_per_second: 30, logs_accepted: 30, eta_seconds: 324 } })
    expect(lines[2]!.fields).toMatchObject({ checkpoint: 500, blocks_per_second: 25, logs_accepted: 50, eta_seconds: 380 })
  })

  it('says "at the safe head" once when there is nothing to catch up, and nothing while following the tip', () => {
    const { lines } = run([
      [{ kind: 'idle', checkpoint: 50, safeHead: 50 }, { checkpoint: 50, safeHead: 50 }, 0],
      [advanced(51, 51, 0, true), { checkpoint: 51, safeHead: 51 }, 20_000],
      [{ kind: 'idle', checkpoint: 51, safeHead: 51 }, { checkpoint: 51, safeHead: 51 }, 40_000],
    ])
    expect(lines).toEqual([{ at: 0, message: 'at the safe head: following new blocks', fields: { checkpoint: 50, safe_head: 50, blocks_behind: 0 } }])
  })

  it('waits for a safe head: a round without quorum on the head reports nothing', () => {
    const { lines, progress } = run([[{ kind: 'no_quorum', stage: 'head', reason: 'x' }, { checkpoint: 9, safeHead: null }, 0]])
    expect(lines).toEqual([])
    expect(progress).toEqual(initialBackfillProgress)
  })

  it('reports a new backfill when the reader falls behind again after catching up (a long pause)', () => {
    const { lines } = run([
      [advanced(1, 10, 0, true), { checkpoint: 10, safeHead: 10 }, 0],
      [advanced(11, 110, 2, false), { checkpoint: 110, safeHead: 500 }, 60_000],
      [advanced(111, 500, 3, true), { checkpoint: 500, safeHead: 500 }, 61_000],
    ])
    expect(lines.map((line) => line.message)).toEqual([
      'backfill: reading from the checkpoint up to the safe head',
      'backfill caught up: at the safe head, following new blocks',
      'backfill: reading from the checkpoint up to the safe head',
      'backfill caught up: at the safe head, following new blocks',
    ])
    expect(lines[2]!.fields).toEqual({ checkpoint: 10, safe_head: 500, blocks_behind: 490 })
    expect(lines[3]!.fields).toEqual({ checkpoint: 500, blocks_read: 490, logs_accepted: 5, duration_ms: 1_000 })
  })
})

describe('backfill progress in the daemon log (the real CLI on anvil)', () => {
  it('logs where the backfill starts, one caught-up line, and with log.level debug each round and RPC attempt', async () => {
    const chain = await startChainFixture()
    try {
      await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 5n)
      await chain.anvil.client.mine({ blocks: 120 })
      const document = daemonDocument(chain, { url: 'http://127.0.0.1:9' } as WebhookReceiver, chain.dir, { log: { level: 'debug' } })
      ;(document.chain as Record<string, unknown>).max_block_range = 10
      const path = join(chain.dir, 'skill.yaml')
      await writeDaemonConfig(path, document)
      const daemon = startCli(['run', '--config', path])
      try {
        await waitForOutput(daemon, /backfill caught up/, 60_000)
      } finally {
        daemon.kill('SIGTERM')
        await daemon.exited
      }
      const lines = daemon.output.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
      const start = lines.find((line) => line.msg === 'backfill: reading from the checkpoint up to the safe head')!
      expect(start).toMatchObject({ level: 30, component: 'reader', checkpoint: 0 })
      expect(start.blocks_behind).toBeGreaterThan(120)
      const caughtUp = lines.filter((line) => line.msg === 'backfill caught up: at the safe head, following new blocks')
      expect(caughtUp).toHaveLength(1)
      expect(caughtUp[0]).toMatchObject({ logs_accepted: 1, blocks_read: start.blocks_behind })
      const rounds = lines.filter((line) => line.msg === 'round' && line.outcome === 'advanced')
      expect(rounds.length).toBeGreaterThanOrEqual(12) // ranges of at most 10 blocks
      expect(rounds[0]).toMatchObject({ level: 20, fromBlock: 1, toBlock: 10 })
      const attempt = lines.find((line) => line.msg === 'rpc attempt' && line.method === 'eth_getLogs')
      expect(attempt).toMatchObject({ level: 20, outcome: 'ok' })
      expect(typeof attempt!.duration_ms).toBe('number')
    } finally {
      await chain.close()
    }
  })
})
