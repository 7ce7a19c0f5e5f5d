import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  appendDeadLetterLines,
  foldDeadLetters,
  readDeadLetterLines,
  type DeadLetter,
  type DeadLetterLine,
  type ReplayMark,
} from '../../src/delivery/dead-letter-file.ts'

function letter(webhookId: string, deadAt: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    kind: 'dead_letter',
    webhook_id: webhookId,
    merchant_id: 'm1',
    url: 'https://merchant.example/hooks',
    type: 'invoice.settled',
    payload: {
      type: 'invoice.settled',
      timestamp: '2030-01-01T00:00:00.000Z',
      data: {
        invoice_uuid: '123e4567-e89b-42d3-a456-426614174000',
        merchant_id: 'm1',
        chain_id: 31337,
        token: `0x${'a'.repeat(40)}`,
        from: `0x${'b'.repeat(40)}`,
        to: `0x${'c'.repeat(40)}`,
        amount: '1000',
        tx_hash: `0x${'d'.repeat(64)}`,
        block_number: 12,
        block_hash: `0x${'e'.repeat(64)}`,
        log_index: 0,
        confirmations: 3,
        providers: ['a', 'b'],
        detected_at: '2030-01-01T00:00:00.000Z',
        settled_at: '2030-01-01T00:00:00.000Z',
      },
    },
    attempts: 8,
    first_attempt_at: '2030-01-01T00:00:01.000Z',
    last_attempt_at: '2030-01-01T01:00:00.000Z',
    last_error: 'HTTP 500',
    dead_at: deadAt,
    ...overrides,
  }
}

function mark(webhookId: string, replayedAt: string, status = 200): ReplayMark {
  return { kind: 'replayed', webhook_id: webhookId, replayed_at: replayedAt, status }
}

describe('foldDeadLetters', () => {
  it('returns [] for no lines', () => {
    expect(foldDeadLetters([])).toEqual([])
  })

  it('gives one view per webhook id, with replayed_at null when never replayed', () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    const b = letter('wh_b', '2030-01-01T02:00:00.000Z', { merchant_id: 'm2' })
    expect(foldDeadLetters([a, b])).toEqual([
      { ...a, replayed_at: null },
      { ...b, replayed_at: null },
    ])
  })

  it('counts a dead letter written twice once, with the content of the later copy', () => {
    const first = letter('wh_a', '2030-01-01T01:00:00.000Z')
    const again = letter('wh_a', '2030-01-01T01:00:05.000Z', { attempts: 9 })
    const views = foldDeadLetters([first, again])
    expect(views).toHaveLength(1)
    expect(views[0]).toEqual({ ...again, replayed_at: null })
  })

  it('sets replayed_at from a replay mark', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z')])
    expect(views).toHaveLength(1)
    expect(views[0]!.replayed_at).toBe('2030-01-02T00:00:00.000Z')
  })

  it('marks only the letter the replay names', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), letter('wh_b', '2030-01-01T02:00:00.000Z'), mark('wh_b', '2030-01-02T00:00:00.000Z')])
    expect(views.map((v) => [v.webhook_id, v.replayed_at])).toEqual([
      ['wh_a', null],
      ['wh_b', '2030-01-02T00:00:00.000Z'],
    ])
  })

  it('keeps the latest replay when a letter was replayed twice', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z'), mark('wh_a', '2030-01-03T00:00:00.000Z')])
    expect(views[0]!.replayed_at).toBe('2030-01-03T00:00:00.000Z')
  })

  it('ignores a replay mark for an unknown id', () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    expect(foldDeadLetters([a, mark('wh_unknown', '2030-01-02T00:00:00.000Z')])).toEqual([{ ...a, replayed_at: null }])
    expect(foldDeadLetters([mark('wh_unknown', '2030-01-02T00:00:00.000Z')])).toEqual([])
  })

  it('ignores a replay mark that comes before its letter in the file', () => {
    const views = foldDeadLetters([mark('wh_a', '2030-01-01T00:00:00.000Z'), letter('wh_a', '2030-01-01T01:00:00.000Z')])
    expect(views).toHaveLength(1)
    expect(views[0]!.replayed_at).toBeNull()
  })

  it('keeps an earlier replay when the letter is written again afterwards', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z'), letter('wh_a', '2030-01-01T01:00:05.000Z')])
    expect(views).toHaveLength(1)
    expect(views[0]!.dead_at).toBe('2030-01-01T01:00:05.000Z')
    expect(views[0]!.replayed_at).toBe('2030-01-02T00:00:00.000Z')
  })

  it('orders the views by death (file order), a rewritten letter taking its later place', () => {
    const lines: DeadLetterLine[] = [
      letter('wh_a', '2030-01-01T01:00:00.000Z'),
      letter('wh_b', '2030-01-01T02:00:00.000Z'),
      mark('wh_a', '2030-01-01T02:30:00.000Z'),
      letter('wh_c', '2030-01-01T03:00:00.000Z'),
      letter('wh_a', '2030-01-01T04:00:00.000Z'),
      letter('wh_d', '2030-01-01T05:00:00.000Z'),
    ]
    expect(foldDeadLetters(lines).map((v) => v.webhook_id)).toEqual(['wh_b', 'wh_c', 'wh_a', 'wh_d'])
  })

  it('does not mutate the lines it folds', () => {
    const lines: DeadLetterLine[] = [letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z')]
    const before = structuredClone(lines)
    foldDeadLetters(lines)
    expect(lines).toEqual(before)
    expect('replayed_at' in lines[0]!).toBe(false)
  })
})

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
