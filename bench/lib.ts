import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** What every worker reports back to the orchestrator. */
export type WorkerResult = { elapsedMs: number; events: number; maxRssMb: number; extra?: Record<string, unknown> }

/**
 * Runs one measured system in its own process, so that its peak RSS is its own and one run
 * cannot warm the next. Bounded: the worker is killed after `timeoutMs`.
 */
export function runWorker(name: string, input: unknown, timeoutMs = 240_000, onMessage?: (message: Record<string, unknown>, reply: (m: object) => void) => void): Promise<WorkerResult> {
  const path = fileURLToPath(new URL(`./workers/${name}.ts`, import.meta.url))
  return new Promise((resolve, reject) => {
    const child = fork(path, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [] })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    let result: WorkerResult | undefined
    child.on('message', (message: { result?: WorkerResult; error?: string }) => {
      onMessage?.(message as Record<string, unknown>, (m) => child.send(m))
      if (message.result) result = message.result
      if (message.error) reject(new Error(`${name}: ${message.error}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (result) resolve(result)
      else reject(new Error(`${name} exited (${code ?? signal}) without a result`))
    })
    child.send(input)
  })
}

/** Worker side: receives its input, runs, reports, exits. */
export function worker<I>(run: (input: I) => Promise<Omit<WorkerResult, 'maxRssMb'>>): void {
  process.once('message', (input: I) => {
    run(input)
      .then((result) => {
        process.send!({ result: { ...result, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) } }, () => process.exit(0))
      })
      .catch((error: unknown) => {
        process.send!({ error: (error as Error)?.stack ?? String(error) }, () => process.exit(1))
      })
  })
}

/** A measured run that ended without a result: what it said, first line only. */
export type FailedRun = { failed: string }

/**
 * Runs one measurement; a run that fails is recorded as failed (and the benchmark goes on to
 * the next), so one system's failure is reported in the results instead of ending the run.
 */
export async function measure(label: string, run: () => Promise<WorkerResult>): Promise<WorkerResult | FailedRun> {
  try {
    return await run()
  } catch (error) {
    const failed = ((error as Error)?.message ?? String(error)).split('\n').filter((line) => line.trim() !== '').slice(0, 2).join(' ')
    console.log(`${label} FAILED: ${failed}`)
    return { failed }
  }
}

export const succeeded = (runs: readonly (WorkerResult | FailedRun)[]): WorkerResult[] => runs.filter((r): r is WorkerResult => !('failed' in r))
export const failures = (runs: readonly (WorkerResult | FailedRun)[]): string[] => runs.filter((r): r is FailedRun => 'failed' in r).map((r) => r.failed)

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** Median and spread (min..max) of a series of measurements (zeros when there is none: see `failures`). */
export function summary(values: readonly number[]) {
  if (values.length === 0) return { median: 0, min: 0, max: 0, runs: [] as number[] }
  return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)), runs: values.map(round) }
}

/** `a / b` rounded to two places, or null when either side has no successful run (a median of 0). */
export const ratio = (a: number, b: number): number | null => (a > 0 && b > 0 ? round(a / b, 2) : null)

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

/** Rejects when a daemon's `done` settles: it stopped by itself before the run was over. */
export function stoppedEarly(done: Promise<void>): Promise<never> {
  const early = done.then(
    () => Promise.reject(new Error('the daemon stopped before the run was over')),
    (error: unknown) => Promise.reject(error),
  )
  early.catch(() => undefined) // a stop after the run (daemon.stop()) is no failure
  return early
}

export function waitFor(check: () => boolean, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${label}`))
      setTimeout(tick, 5)
    }
    tick()
  })
}
