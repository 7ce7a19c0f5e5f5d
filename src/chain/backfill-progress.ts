import type { RoundOutcome } from './chain-reader.ts'

/** How often, at most, a progress line is written while the reader is behind. */
export const PROGRESS_EVERY_MS = 10_000

/** A line for the operator; the caller writes it to the log. */
export type ProgressLine = { message: string; fields: Record<string, number | null> }

/** What the tracker remembers between rounds. Start from `initialBackfillProgress`. */
export type BackfillProgress =
  /** Nothing reported yet: the first round with a known safe head reports where the reader is. */
  | { phase: 'unknown' }
  | { phase: 'behind'; startedAtMs: number; startCheckpoint: number; lastReportAtMs: number; logsAccepted: number }
  | { phase: 'caught_up' }

export const initialBackfillProgress: BackfillProgress = { phase: 'unknown' }

/** The reader's position after a round, as `ChainReader.status()` gives it. */
export type ReaderPosition = { checkpoint: number; safeHead: number | null }

/**
 * Decides what an operator is told about a backfill after each round, so that a long catch-up
 * is never silent: where the reader starts and how far it has to go; while behind, at most one
 * line per `PROGRESS_EVERY_MS` with blocks/s, logs accepted and an estimate of the time left;
 * one line when it reaches the safe head. Pure: the clock is a parameter.
 */
export function observeRound(progress: BackfillProgress, outcome: RoundOutcome, position: ReaderPosition, nowMs: number): { progress: BackfillProgress; lines: ProgressLine[] } {
  const { checkpoint, safeHead } = position
  if (safeHead === null) return { progress, lines: [] }
  const behind = Math.max(0, safeHead - checkpoint)
  const accepted = outcome.kind === 'advanced' ? outcome.accepted : 0
  const fellBehind = outcome.kind === 'advanced' && !outcome.caughtUp
  if (progress.phase === 'unknown' || (progress.phase === 'caught_up' && fellBehind)) {
    const startCheckpoint = outcome.kind === 'advanced' ? outcome.fromBlock - 1 : checkpoint
    const remaining = Math.max(0, safeHead - startCheckpoint)
    const start: ProgressLine = { message: remaining > 0 ? 'backfill: reading from the checkpoint up to the safe head' : 'at the safe head: following new blocks', fields: { checkpoint: startCheckpoint, safe_head: safeHead, blocks_behind: remaining } }
    if (behind === 0) return { progress: { phase: 'caught_up' }, lines: remaining > 0 ? [start, caughtUpLine(startCheckpoint, checkpoint, accepted, 0)] : [start] }
    return { progress: { phase: 'behind', startedAtMs: nowMs, startCheckpoint, lastReportAtMs: nowMs, logsAccepted: accepted }, lines: [start] }
  }
  if (progress.phase === 'caught_up') return { progress, lines: [] }
  const logsAccepted = progress.logsAccepted + accepted
  const elapsedMs = nowMs - progress.startedAtMs
  if (behind === 0) return { progress: { phase: 'caught_up' }, lines: [caughtUpLine(progress.startCheckpoint, checkpoint, logsAccepted, elapsedMs)] }
  if (nowMs - progress.lastReportAtMs < PROGRESS_EVERY_MS) return { progress: { ...progress, logsAccepted }, lines: [] }
  const done = checkpoint - progress.startCheckpoint
  const blocksPerSecond = elapsedMs > 0 ? (done * 1000) / elapsedMs : null
  const line: ProgressLine = {
    message: 'backfill progress',
    fields: {
      checkpoint,
      safe_head: safeHead,
      blocks_behind: behind,
      blocks_per_second: blocksPerSecond === null ? null : Math.round(blocksPerSecond * 10) / 10,
      logs_accepted: logsAccepted,
      eta_seconds: blocksPerSecond === null || blocksPerSecond === 0 ? null : Math.ceil(behind / blocksPerSecond),
    },
  }
  return { progress: { ...progress, logsAccepted, lastReportAtMs: nowMs }, lines: [line] }
}

function caughtUpLine(startCheckpoint: number, checkpoint: number, logsAccepted: number, elapsedMs: number): ProgressLine {
  return { message: 'backfill caught up: at the safe head, following new blocks', fields: { checkpoint, blocks_read: checkpoint - startCheckpoint, logs_accepted: logsAccepted, duration_ms: elapsedMs } }
}
