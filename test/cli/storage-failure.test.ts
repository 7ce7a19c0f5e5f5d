import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCli, waitForOutput, type CliResult } from '../support/cli.ts'
import { apiClient, apiKeyOf, daemonDocument, startMerchantWorld, writeDaemonConfig, type MerchantWorld } from '../support/daemon-harness.ts'
import { openInvoice } from '../support/invoice.ts'

// Real faults only: the daemon is the real CLI in a child process; the full disk is a real file
// size limit (the kernel's short writes, then EFBIG); the deleted journal is a real unlink.

let world: MerchantWorld

beforeAll(async () => {
  world = await startMerchantWorld()
})
afterAll(async () => {
  await world.close()
})

type Daemon = ReturnType<typeof startCli>

/** A configuration of its own (store, DLQ) under the fixture's folder; the port is the OS's choice. */
async function configFor(name: string): Promise<{ configPath: string; storePath: string }> {
  const dir = join(world.chain.dir, name)
  const configPath = join(world.chain.dir, `${name}.yaml`)
  await writeDaemonConfig(configPath, daemonDocument(world.chain, world.receiver, dir, { log: { level: 'info' } }))
  return { configPath, storePath: join(dir, 'settleproof.json') }
}

/** Starts `settleproof run` and waits until it serves; returns the port it bound. */
async function startDaemon(configPath: string, options: { fileSizeLimitBytes?: number } = {}): Promise<{ daemon: Daemon; port: number }> {
  const daemon = startCli(['run', '--config', configPath], { ...options, timeoutMs: 120_000 })
  await waitForOutput(daemon, /reading the chain/)
  const line = daemon.output.stdout.split('\n').find((l) => l.includes('reading the chain'))!
  return { daemon, port: (JSON.parse(line) as { port: number }).port }
}

/** The process's exit, or null if it is still running after `ms` (then it is SIGKILLed, so the test can go on). */
async function exitWithin(daemon: Daemon, ms: number): Promise<CliResult | null> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([daemon.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))])
  clearTimeout(timer)
  if (result !== null) return result
  daemon.kill('SIGKILL')
  await daemon.exited
  return null
}

const invoiceBody = (i: number) => ({ uuid: randomUUID(), token: world.chain.token.address, amount: String(1_000_000 + i) })
const fatalLines = (result: CliResult) => result.stdout.split('\n').filter((line) => line.includes('"level":60'))
/** Bounded: the daemon must stop on its own well within this on a quiet chain (it did not at all before). */
const EXIT_WITHIN_MS = 20_000

describe('a full disk under the running daemon (ulimit -f: real short writes, then EFBIG)', () => {
  const seen = {
    acknowledged: [] as string[],
    failed: null as null | { uuid: string; status: number | undefined },
    retried: undefined as number | undefined,
    exit: null as CliResult | null,
    journal: '',
    afterRestart: new Map<string, number>(),
  }

  it('acknowledges only invoices whose journal line is whole on disk: after a restart without the limit, every 201 answers 200', async () => {
    const { configPath, storePath } = await configFor('full-disk')
    // Room for the chain state and some dozens of invoices: the limit falls inside some line.
    const { daemon, port } = await startDaemon(configPath, { fileSizeLimitBytes: 24 * 1024 })
    const api = apiClient(port, apiKeyOf('acme'))
    for (let i = 0; i < 1_000 && seen.failed === null; i++) {
      const body = invoiceBody(i)
      const reply = await api.post('invoices', { json: body, timeout: { request: 10_000 } }).catch(() => null)
      if (reply?.statusCode === 201) seen.acknowledged.push(body.uuid)
      else {
        seen.failed = { uuid: body.uuid, status: reply?.statusCode }
        // The client retries the very same request.
        seen.retried = (await api.post('invoices', { json: body, timeout: { request: 10_000 } }).catch(() => null))?.statusCode
      }
    }
    expect(seen.failed).not.toBeNull()
    expect(seen.acknowledged.length).toBeGreaterThan(3)
    seen.exit = await exitWithin(daemon, EXIT_WITHIN_MS)
    seen.journal = await readFile(`${storePath}.journal`, 'utf8')

    const { daemon: restarted, port: port2 } = await startDaemon(configPath)
    try {
      const api2 = apiClient(port2, apiKeyOf('acme'))
      for (const uuid of [...seen.acknowledged, seen.failed!.uuid]) seen.afterRestart.set(uuid, (await api2.get(`invoices/${uuid}`)).statusCode)
    } finally {
      restarted.kill('SIGTERM')
      expect((await restarted.exited).code).toBe(0)
    }
    expect(seen.acknowledged.filter((uuid) => seen.afterRestart.get(uuid) !== 200)).toEqual([])
  }, 120_000)

  it('leaves nothing of the failed commit behind: the same POST again is not answered from memory, and the journal does not hold it', () => {
    expect(seen.failed!.status).toBe(500)
    expect([200, 201]).not.toContain(seen.retried)
    expect(seen.afterRestart.get(seen.failed!.uuid)).toBe(404)
    // Cut back to its last whole line: no fragment of an unacknowledged commit is left to replay.
    expect(seen.journal.endsWith('\n')).toBe(true)
    expect(seen.journal).not.toContain(seen.failed!.uuid)
  })

  it('stops by itself at once on a quiet chain, exit 1, with one fatal line naming the store and the cause', () => {
    expect(seen.exit).not.toBeNull()
    expect(seen.exit!.code).toBe(1)
    const fatal = fatalLines(seen.exit!)
    expect(fatal).toHaveLength(1)
    expect(fatal[0]).toContain('STORE_WRITE_FAILED')
    expect(fatal[0]).toContain('EFBIG')
  })
})

describe('a journal deleted under the running daemon', () => {
  it('is noticed before the next append: that POST fails, the daemon exits 1 by itself, and a restart serves again', async () => {
    const { configPath, storePath } = await configFor('deleted-journal')
    const { daemon, port } = await startDaemon(configPath)
    // At the safe head of a quiet chain the reader commits nothing more: the POST below is the
    // next append (else, on a busy machine, the first round's commit could fail first and stop
    // the daemon before that POST is answered).
    await waitForOutput(daemon, /backfill caught up|at the safe head: following new blocks/, 45_000)
    const api = apiClient(port, apiKeyOf('acme'))
    const before = invoiceBody(1)
    expect((await api.post('invoices', { json: before })).statusCode).toBe(201)
    await rm(`${storePath}.journal`)
    const after = invoiceBody(2)
    const reply = await api.post('invoices', { json: after, timeout: { request: 10_000 } }).catch(() => null)
    expect(reply?.statusCode).toBe(500)
    const exit = await exitWithin(daemon, EXIT_WITHIN_MS)
    expect(exit?.code).toBe(1)
    const fatal = fatalLines(exit!)
    expect(fatal).toHaveLength(1)
    expect(fatal[0]).toContain('STORE_WRITE_FAILED')
    expect(fatal[0]).toContain('was deleted or replaced')

    const { daemon: restarted, port: port2 } = await startDaemon(configPath)
    try {
      const api2 = apiClient(port2, apiKeyOf('acme'))
      // What was not acknowledged is not there; the store opens and takes new invoices.
      expect((await api2.get(`invoices/${after.uuid}`)).statusCode).toBe(404)
      expect((await api2.post('invoices', { json: invoiceBody(3) })).statusCode).toBe(201)
    } finally {
      restarted.kill('SIGTERM')
      expect((await restarted.exited).code).toBe(0)
    }
  }, 120_000)
})

describe('a snapshot of the wrong shape', () => {
  it('stops `settleproof run` with exit 1 and one line naming the file and the first problem, no stack trace, and leaves the file as it was', async () => {
    const { configPath, storePath } = await configFor('bad-snapshot')
    const invoice = { ...openInvoice({ token: world.chain.token.address }), amount: 1000 } // a number: amounts are decimal strings
    const content = JSON.stringify({ format: 'settleproof-store', version: 1, journalSeq: 0, chain: null, invoices: { [invoice.uuid]: invoice } })
    await mkdir(join(storePath, '..'), { recursive: true })
    await writeFile(storePath, content)
    const daemon = startCli(['run', '--config', configPath])
    const result = await daemon.exited
    expect(result.code).toBe(1)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`store ${storePath} is unreadable (invoices["${invoice.uuid}"].amount: `)
    expect(lines[0]).toContain('expected string, received number')
    expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /)
    expect(await readFile(storePath, 'utf8')).toBe(content)
  }, 60_000)
})
