import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { DeadLetterLine } from '../delivery/dead-letter.ts'

/*
 * The DLQ's JSONL file: one `DeadLetterLine` per line, only ever appended to (an audit trail,
 * never rewritten). The lowdb backend keeps its dead letters there; the PostgreSQL backend
 * writes the same lines beside its table, a local trail of what this process dead-lettered.
 */

/**
 * Appends lines with one O_APPEND write and an fsync. One write per call keeps lines whole
 * when the daemon and a `dlq replay` append to the same file at once.
 */
export async function appendDeadLetterLines(path: string, lines: readonly DeadLetterLine[]): Promise<void> {
  if (lines.length === 0) return
  await mkdir(dirname(path), { recursive: true })
  const file = await open(path, 'a', 0o600)
  try {
    await file.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(''))
    await file.sync()
  } finally {
    await file.close()
  }
}

/** Every complete line of the file; a last line still being written (no newline yet) is left out. */
export async function readDeadLetterLines(path: string): Promise<DeadLetterLine[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1)
  return complete
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as DeadLetterLine)
}
