import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../bin/settleproof.js', import.meta.url))

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export type CliOptions = {
  env?: Record<string, string | undefined>
  cwd?: string
  timeoutMs?: number
  /** Runs the CLI as this user and group (the test must run as root). */
  uid?: number
  gid?: number
  /** A command the CLI runs under, e.g. `['unshare', '-rm', 'sh', '-c', '… && exec "$@"', 'sh']`: the node command line is appended. */
  launcher?: readonly string[]
  /**
   * Runs the CLI under `ulimit -f` (bytes, rounded up to the shell's 512-byte blocks): a real
   * full disk for every file it writes. Past the limit the kernel writes what fits (a short
   * write), then refuses with EFBIG; Node ignores SIGXFSZ, so the process sees the errors.
   */
  fileSizeLimitBytes?: number
}

/** The real CLI as a child process, on this Node (the project's Node 24). */
export function startCli(args: readonly string[], options: CliOptions = {}): ChildProcessWithoutNullStreams & { output: CliResult; exited: Promise<CliResult> } {
  const env = { ...process.env, ...options.env }
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key]
  // A full disk is a launcher too: `ulimit -f` in blocks of 512 bytes (dash's unit), then the rest.
  const launcher =
    options.fileSizeLimitBytes === undefined
      ? (options.launcher ?? [])
      : ['/bin/sh', '-c', 'ulimit -f "$0" && exec "$@"', String(Math.ceil(options.fileSizeLimitBytes / 512)), ...(options.launcher ?? [])]
  const [command, ...prefix] = [...launcher, process.execPath]
  const ids = options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }
  const child = spawn(command!, [...prefix, CLI, ...args], { cwd: options.cwd, env, ...ids }) as ChildProcessWithoutNullStreams & { output: CliResult; exited: Promise<CliResult> }
  const output: CliResult = { code: null, signal: null, stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000)
  child.output = output
  child.exited = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      output.code = code
      output.signal = signal
      resolve(output)
    }),
  )
  return child
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited
}

/** Waits until the child's stdout holds a line matching `pattern` (bounded). */
export async function waitForOutput(child: { output: CliResult }, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!pattern.test(child.output.stdout + child.output.stderr)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output so far:\n${child.output.stdout}\n${child.output.stderr}`)
    if (child.output.code !== null || child.output.signal !== null) throw new Error(`process exited (${child.output.code ?? child.output.signal}) before ${pattern}:\n${child.output.stdout}\n${child.output.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/**
 * Waits for the daemon's 'reading the chain' line and returns the port it logged: the port it
 * actually bound. Tests configure `server.port: 0` (a port picked by the system, never a fixed
 * one that another process may hold under load) and read it here.
 */
export async function waitForBoundPort(child: { output: CliResult }, timeoutMs = 60_000): Promise<number> {
  await waitForOutput(child, /reading the chain/, timeoutMs)
  const line = child.output.stdout.split('\n').find((l) => l.includes('"reading the chain"'))
  const port = line === undefined ? undefined : (JSON.parse(line) as { port?: unknown }).port
  if (typeof port !== 'number' || port <= 0) throw new Error(`no bound port in the 'reading the chain' line: ${line}`)
  return port
}
