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

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** Median and spread (min..max) of a series of measurements. */
export function summary(values: readonly number[]) {
  return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)), runs: values.map(round) }
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

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
