import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StoreLockedError } from '../../../src/store/lowdb/errors.ts'
import { acquireWriterLock } from '../../../src/store/lowdb/writer-lock.ts'
import { waitForOutput, type CliResult } from '../../support/cli.ts'
import { errorOf } from '../../support/error-of.ts'

const HOLDER = fileURLToPath(new URL('../../support/lock-holder.ts', import.meta.url))

let dir: string
let count = 0
const fresh = () => join(dir, `store-${++count}.json`)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-lock-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A real child process running test/support/lock-holder.ts, killed with a timeout if forgotten. */
function lockHolder(mode: 'hold' | 'wait', path: string) {
  const child = spawn(process.execPath, [HOLDER, mode, path], { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: CliResult = { code: null, signal: null, stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const exited = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      Object.assign(output, { code, signal })
      resolve(output)
    }),
  )
  return { child, output, exited }
}

const refusal = (path: string) => errorOf(acquireWriterLock(path), (lock) => lock.release())

describe('writer lock (real child processes and signals)', () => {
  it('refuses a second process while the owner lives, naming its pid, and frees the lock when the owner is SIGKILLed', async () => {
    const path = fresh()
    const holder = lockHolder('hold', path)
    await waitForOutput(holder, /held \d+/)
    const refused = await refusal(path)
    expect(refused).toBeInstanceOf(StoreLockedError)
    expect((refused as Error).message).toContain(`store ${path} is in use by another settleproof process (pid ${holder.child.pid})`)

    // A second process waiting for the lock takes it once the kernel releases the dead owner's.
    const waiter = lockHolder('wait', path)
    await waitForOutput(waiter, /refused: store .* \(pid \d+\)/)
    holder.child.kill('SIGKILL')
    await holder.exited
    const waited = await waiter.exited
    expect(waited.stdout).toContain(`took ${waiter.child.pid}`)
    expect(waited.code).toBe(0)
  })

  it('never blocks on what a SIGKILLed owner left behind (lock file and owner record naming its pid)', async () => {
    const path = fresh()
    const holder = lockHolder('hold', path)
    await waitForOutput(holder, /held \d+/)
    holder.child.kill('SIGKILL')
    await holder.exited
    expect(JSON.parse(await readFile(`${path}.lock.owner`, 'utf8'))).toMatchObject({ pid: holder.child.pid })
    const lock = await acquireWriterLock(path)
    expect(JSON.parse(await readFile(`${path}.lock.owner`, 'utf8'))).toMatchObject({ pid: process.pid })
    await lock.release()
  })

  // A container restart gives the new process the pid of the dead one (node is pid 1), and
  // after a reboot a stale pid names some live, unrelated process: no pid may block a start.
  for (const [label, pid] of [
    ['pid 1 (a container restart: the new process has the dead one\'s pid)', 1],
    ['a live, unrelated process (this test\'s pid)', process.pid],
  ] as const) {
    it(`takes a lock whose left-over pid file and owner record name ${label}`, async () => {
      const path = fresh()
      const record = JSON.stringify({ pid, host: 'old-host', since: '2020-01-01T00:00:00.000Z' })
      await writeFile(`${path}.lock`, record)
      await writeFile(`${path}.lock.owner`, record)
      const lock = await acquireWriterLock(path)
      // And it is a real lock: another process is refused until it is released.
      const waiter = lockHolder('wait', path)
      await waitForOutput(waiter, /refused: store .* \(pid \d+\)/)
      await lock.release()
      expect((await waiter.exited).code).toBe(0)
    })
  }

  it('refuses a second taker in the same process without dropping the lock the first holds', async () => {
    const path = fresh()
    const lock = await acquireWriterLock(path)
    await expect(acquireWriterLock(path)).rejects.toThrow(`(pid ${process.pid})`)
    // fcntl locks drop when the process closes any descriptor of the file: the refused attempt
    // must not have opened it, so another process is still refused.
    const waiter = lockHolder('wait', path)
    await waitForOutput(waiter, /refused: store .* \(pid \d+\)/)
    expect(waiter.output.stdout).not.toMatch(/took/)
    await lock.release()
    await lock.release()
    expect((await waiter.exited).code).toBe(0)
    const again = await acquireWriterLock(path)
    await again.release()
  })
})
