import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { foldDeadLetters, type DeadLetterLine } from '../../src/delivery/dead-letter.ts'
import { appendDeadLetterLines, readDeadLetterLines } from '../../src/store/dead-letter-file.ts'
import { testDeadLetter as letter, testReplayMark as mark } from '../support/dead-letter.ts'

describe('appendDeadLetterLines + readDeadLetterLines', () => {
  let dir: string
  let path: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'settleproof-dlq-'))
    path = join(dir, 'dlq.jsonl')
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads a missing file as []', async () => {
    expect(await readDeadLetterLines(join(dir, 'missing.jsonl'))).toEqual([])
  })

  it('round-trips lines, one JSON object per line', async () => {
    const lines: DeadLetterLine[] = [letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z', 204)]
    await appendDeadLetterLines(path, lines)
    expect(await readDeadLetterLines(path)).toEqual(lines)
    const text = await readFile(path, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    expect(text.trimEnd().split('\n')).toHaveLength(2)
  })

  it('appends to what is there, never rewriting it', async () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    const b = letter('wh_b', '2030-01-01T02:00:00.000Z')
    const m = mark('wh_a', '2030-01-02T00:00:00.000Z')
    await appendDeadLetterLines(path, [a])
    await appendDeadLetterLines(path, [b, m])
    expect(await readDeadLetterLines(path)).toEqual([a, b, m])
    expect(foldDeadLetters(await readDeadLetterLines(path)).map((v) => [v.webhook_id, v.replayed_at])).toEqual([
      ['wh_a', '2030-01-02T00:00:00.000Z'],
      ['wh_b', null],
    ])
  })

  it('creates missing parent directories', async () => {
    const nested = join(dir, 'a', 'b', 'dlq.jsonl')
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    await appendDeadLetterLines(nested, [a])
    expect(await readDeadLetterLines(nested)).toEqual([a])
  })

  it('creates the file readable by its owner only', async () => {
    await appendDeadLetterLines(path, [letter('wh_a', '2030-01-01T01:00:00.000Z')])
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('writes nothing, not even an empty file, for no lines', async () => {
    await appendDeadLetterLines(path, [])
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('leaves out a trailing partial line with no newline yet', async () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    await appendDeadLetterLines(path, [a])
    const partial = JSON.stringify(letter('wh_b', '2030-01-01T02:00:00.000Z'))
    await appendFile(path, partial.slice(0, 40))
    expect(await readDeadLetterLines(path)).toEqual([a])
  })

  it('leaves out a trailing complete-looking JSON object that lacks its newline', async () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    await appendDeadLetterLines(path, [a])
    await appendFile(path, JSON.stringify(mark('wh_a', '2030-01-02T00:00:00.000Z')))
    expect(await readDeadLetterLines(path)).toEqual([a])
  })

  it('reads a file holding only a partial line as []', async () => {
    await writeFile(path, '{"kind":"dead_le')
    expect(await readDeadLetterLines(path)).toEqual([])
  })

  it('skips blank lines', async () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    const m = mark('wh_a', '2030-01-02T00:00:00.000Z')
    await writeFile(path, `\n${JSON.stringify(a)}\n\n   \n${JSON.stringify(m)}\n`)
    expect(await readDeadLetterLines(path)).toEqual([a, m])
  })

  it('throws on errors other than a missing file', async () => {
    await expect(readDeadLetterLines(dir)).rejects.toMatchObject({ code: 'EISDIR' })
  })
})
