import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { acquireWriterLock } from '../../src/store/lowdb/writer-lock.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'
import { runCli, type CliOptions, type CliResult } from '../support/cli.ts'

// Each start-up failure stops the daemon before it reads the chain, so the providers here
// (127.0.0.1:9, nothing listens) are never called.

let dir: string
let count = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-start-up-'))
  // Other users (the EACCES cases run as nobody) must reach the files below.
  await chmod(dir, 0o755)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Writes a configuration with this storage.path and server and returns its path. */
async function config(storagePath: string, server: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<string> {
  const path = join(dir, `skill-${++count}.yaml`)
  await writeFile(
    path,
    stringify({
      chain: { id: 31337, confirmations: 1, start_block: 1 },
      providers: ['a', 'b', 'c'].map((name) => ({ name, url: `http://127.0.0.1:9/${name}` })),
      storage: { path: storagePath },
      dlq: { path: join(dir, `dlq-${count}.jsonl`) },
      server,
      merchants: [{ id: 'acme', webhook_url: 'http://127.0.0.1:9/hook', webhook_secret: TEST_WEBHOOK_SECRET, api_key: 'acme-start-up-api-key', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'] }],
    }),
  )
  await chmod(path, 0o644)
  return path
}

const run = (configPath: string, options: CliOptions = {}) => runCli(['run', '--config', configPath], { timeoutMs: 20_000, ...options })

/** One clear line, exit 1, no stack trace, naming the key to change. */
function expectOneLine(result: CliResult, key: string, ...parts: string[]) {
  expect(result.code).toBe(1)
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^settleproof: /)
  expect(lines[0]).toContain(key)
  for (const part of parts) expect(lines[0]).toContain(part)
  expect(result.stderr).not.toMatch(/^\s+at /m)
  expect(result.stdout).not.toContain('reading the chain')
}

/** Whether `dir` can be mounted read-only in a private mount namespace (unshare -rm); the mount dies with the child. */
function readOnlyLauncher(directory: string): string[] | null {
  const script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"'
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', directory, 'sh', '-c', `! touch "${directory}/probe" 2>/dev/null`], { encoding: 'utf8' })
  return probe.status === 0 ? ['unshare', '-rm', 'sh', '-c', script, 'sh', directory] : null
}

const isRoot = process.getuid?.() === 0
/** Root is never refused by permissions: the EACCES cases run the CLI as nobody. */
const unprivileged: CliOptions = isRoot ? { uid: 65534, gid: 65534 } : {}

describe('settleproof run: start-up failures are one line naming the setting (real CLI child processes)', () => {
  it('storage.path under a regular file (ENOTDIR)', async () => {
    const file = join(dir, 'a-regular-file')
    await writeFile(file, 'not a directory')
    expectOneLine(await run(await config(join(file, 'data', 'settleproof.json'))), 'storage.path', `(${file})`, 'not a directory (ENOTDIR)')
    expectOneLine(await run(await config(join(file, 'settleproof.json'))), 'storage.path', `(${file})`, 'not a directory (ENOTDIR)')
  })

  it('storage.path in a read-only directory (EROFS), a store that exists and one that does not yet', async (context) => {
    const readOnly = join(dir, 'read-only')
    await mkdir(join(readOnly, 'existing'), { recursive: true })
    // An existing store: its lock file is there from an earlier run.
    const existing = join(readOnly, 'existing', 'settleproof.json')
    await (await acquireWriterLock(existing)).release()
    const launcher = readOnlyLauncher(readOnly)
    if (launcher === null) return context.skip('cannot mount a directory read-only here (unshare -rm with mount --bind failed): EROFS not tested')
    expectOneLine(await run(await config(existing), { launcher }), 'storage.path', `(${existing}.lock)`, 'read-only (EROFS)')
    const missing = join(readOnly, 'new', 'settleproof.json')
    expectOneLine(await run(await config(missing), { launcher }), 'storage.path', `(${join(readOnly, 'new')})`, 'read-only (EROFS)')
  })

  it('storage.path in a directory this user may not write (EACCES)', async () => {
    const closed = join(dir, 'closed')
    await mkdir(closed)
    await chmod(closed, 0o555)
    expectOneLine(await run(await config(join(closed, 'settleproof.json')), unprivileged), 'storage.path', `(${join(closed, 'settleproof.json')}.lock)`, '(EACCES)')
    expectOneLine(await run(await config(join(closed, 'sub', 'settleproof.json')), unprivileged), 'storage.path', `(${join(closed, 'sub')})`, '(EACCES)')
  })

  it('storage.path in a directory no one may write, root included (EPERM: the immutable attribute)', async (context) => {
    const immutable = join(dir, 'immutable')
    await mkdir(immutable)
    if (spawnSync('chattr', ['+i', immutable]).status !== 0) return context.skip('chattr +i is not supported on this filesystem: EPERM not tested')
    try {
      expectOneLine(await run(await config(join(immutable, 'settleproof.json'))), 'storage.path', `(${join(immutable, 'settleproof.json')}.lock)`, '(EPERM)')
      expectOneLine(await run(await config(join(immutable, 'sub', 'settleproof.json'))), 'storage.path', `(${join(immutable, 'sub')})`, '(EPERM)')
    } finally {
      spawnSync('chattr', ['-i', immutable])
    }
  })

  describe('with a listener the test holds', () => {
    let held: Server
    let port: number
    beforeAll(async () => {
      held = createServer()
      await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve))
      port = (held.address() as { port: number }).port
    })
    afterAll(async () => {
      await new Promise((resolve) => held.close(resolve))
    })

    it('server.port taken (EADDRINUSE), and the store is released for the next start', async () => {
      const store = join(dir, 'port-taken', 'settleproof.json')
      expectOneLine(await run(await config(store, { host: '127.0.0.1', port })), 'server.port', `server.port ${port} on 127.0.0.1 is already in use (EADDRINUSE)`)
      await (await acquireWriterLock(store)).release()
      expect(await readFile(`${store}.lock`, 'utf8')).toBe('')
    })
  })

  it('server.port below the unprivileged range (EACCES)', async (context) => {
    const start = Number((await readFile('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').catch(() => '1024')).trim())
    if (start <= 1) return context.skip(`every port is unprivileged here (ip_unprivileged_port_start ${start}): EACCES not tested`)
    const store = join(dir, 'open-to-all')
    await mkdir(store, { mode: 0o777 })
    await chmod(store, 0o777)
    expectOneLine(await run(await config(join(store, 'settleproof.json'), { host: '127.0.0.1', port: 1 }), unprivileged), 'server.port', 'server.port 1 on 127.0.0.1', '(EACCES)')
  })

  it('server.host that is not an address of this machine (EADDRNOTAVAIL)', async () => {
    // 192.0.2.1 is TEST-NET-1: never assigned to a host, and listen() contacts nothing.
    expectOneLine(await run(await config(join(dir, 'bad-host', 'settleproof.json'), { host: '192.0.2.1', port: 0 })), 'server.host', 'server.host 192.0.2.1', '(EADDRNOTAVAIL)')
  })
})
