import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendDeadLetterLines } from '../../../src/store/dead-letter-file.ts'
import { DeadLetterReplayBusyError } from '../../../src/store/errors.ts'
import { openFileDeadLetters } from '../../../src/store/lowdb/file-dead-letters.ts'
import { testDeadLetter as letter, testReplayMark as mark } from '../../support/dead-letter.ts'

let dir: string
let path: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-file-dlq-'))
  path = join(dir, 'dlq.jsonl')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the file-backed dead letters (lowdb)', () => {
  it('records letters and replays as JSONL lines, and lists them folded: one per webhook id, with its latest replay', async () => {
    const deadLetters = openFileDeadLetters(path)
    expect(await deadLetters.list()).toEqual([])
    await deadLetters.append([letter('wh_a', '2030-01-01T01:00:00.000Z'), letter('wh_b', '2030-01-01T02:00:00.000Z')])
    await deadLetters.append([letter('wh_a', '2030-01-01T01:00:05.000Z')]) // a crash made it write this one twice
    await deadLetters.markReplayed(mark('wh_b', '2030-01-02T00:00:00.000Z'))
    expect((await deadLetters.list()).map((l) => [l.webhook_id, l.dead_at, l.replayed_at])).toEqual([
      ['wh_b', '2030-01-01T02:00:00.000Z', '2030-01-02T00:00:00.000Z'],
      ['wh_a', '2030-01-01T01:00:05.000Z', null],
    ])
    await deadLetters.close()
  })

  it('lists what another process appended, and a file replaced meanwhile', async () => {
    const deadLetters = openFileDeadLetters(path)
    await deadLetters.append([letter('wh_a', '2030-01-01T01:00:00.000Z')])
    expect(await deadLetters.list()).toHaveLength(1)
    // `dlq replay` in another process appends its mark to the same file.
    await appendDeadLetterLines(path, [mark('wh_a', '2030-01-02T00:00:00.000Z')])
    expect((await deadLetters.list())[0]!.replayed_at).toBe('2030-01-02T00:00:00.000Z')
    // A restore puts another file of the same size in its place.
    const restored = join(dir, 'restored.jsonl')
    await writeFile(restored, `${JSON.stringify(letter('wh_z', '2030-01-01T01:00:00.000Z'))}\n${JSON.stringify(mark('wh_z', '2030-01-02T00:00:00.000Z'))}\n`)
    await rename(restored, path)
    expect((await deadLetters.list()).map((l) => l.webhook_id)).toEqual(['wh_z'])
  })

  it('lets one replay run at a time, across handles (another `dlq replay`), naming dlq.path; the lock is freed when the replay fails', async () => {
    const first = openFileDeadLetters(path)
    const second = openFileDeadLetters(path)
    const refused = await first.withReplayLock(() => second.withReplayLock(async () => 'ran').catch((error: unknown) => error))
    expect(refused).toBeInstanceOf(DeadLetterReplayBusyError)
    expect((refused as Error).message).toContain(`another dlq replay is running on ${path} (dlq.path)`)
    await expect(first.withReplayLock(async () => Promise.reject(new Error('replay failed')))).rejects.toThrow('replay failed')
    expect(await second.withReplayLock(async () => 'ran')).toBe('ran')
  })
})
