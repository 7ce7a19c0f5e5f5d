import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initialChainState } from '../../../src/chain/chain-state.ts'
import { StoreCorruptError, StoreLockedError } from '../../../src/store/lowdb/errors.ts'
import { emptyDocument } from '../../../src/store/lowdb/lowdb-document.ts'
import { openLowdbStore, readLowdbStoreSnapshot } from '../../../src/store/lowdb/lowdb-store.ts'
import { lowdbFiles } from '../../support/lowdb-files.ts'
import { openInvoice } from '../../support/invoice.ts'
import { errorOf } from '../../support/error-of.ts'

let dir: string
let count = 0
const fresh = () => join(dir, `store-${++count}.json`)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-store-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('lowdb store', () => {
  it('persists a transaction before it resolves, and reopens with the same state', async () => {
    const path = fresh()
    const store = await openLowdbStore(lowdbFiles(path))
    await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 100), checkpoint: 123 }))
    // Durable before close: another reader of the files (snapshot + journal) sees it.
    expect((await readLowdbStoreSnapshot(path))?.chain?.checkpoint).toBe(123)
    await store.close()
    const again = await openLowdbStore(lowdbFiles(path))
    expect(await again.read((r) => r.getChainState())).toMatchObject({ chainId: 7, checkpoint: 123 })
    await again.close()
  })

  it('applies nothing when a transaction throws', async () => {
    const path = fresh()
    const store = await openLowdbStore(lowdbFiles(path))
    await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 100), checkpoint: 1 }))
    await expect(
      store.transact((tx) => {
        tx.putChainState({ ...initialChainState(7, 100), checkpoint: 2 })
        throw new Error('consumer bug')
      }),
    ).rejects.toThrow('consumer bug')
    expect((await store.read((r) => r.getChainState()))?.checkpoint).toBe(1)
    await store.close()
    expect((await readLowdbStoreSnapshot(path))?.chain?.checkpoint).toBe(1)
  })

  it('groups transactions committed during one write into the next write, all acknowledged in order', async () => {
    const store = await openLowdbStore(lowdbFiles(fresh()))
    const done = await Promise.all(Array.from({ length: 50 }, (_, i) => store.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: i })).then(() => i)))
    expect(done).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect((await store.read((r) => r.getChainState()))?.checkpoint).toBe(49)
    await store.close()
  })

  it('refuses a second writer on the same store while the first holds it, and lets it in after close', async () => {
    const path = fresh()
    const first = await openLowdbStore(lowdbFiles(path))
    await expect(openLowdbStore(lowdbFiles(path))).rejects.toThrow(StoreLockedError)
    await expect(openLowdbStore(lowdbFiles(path))).rejects.toThrow(/in use by another settleproof process \(pid \d+\)/)
    await first.close()
    const second = await openLowdbStore(lowdbFiles(path))
    await second.close()
  })

  for (const [label, content, reason] of [
    ['truncated JSON', '{"format":"settleproof-store","version":1,"chain":{"chainId":', 'not valid JSON'],
    ['an empty file', '', 'the file is empty'],
    ['JSON that is not a store', '{"hello":"world"}', 'not a settleproof store'],
    ['a store from a future version', '{"format":"settleproof-store","version":99,"chain":null}', 'version 99 is not supported'],
  ] as const) {
    it(`stops with a clear message on ${label} and never overwrites it`, async () => {
      const path = fresh()
      await writeFile(path, content)
      const error = await errorOf(openLowdbStore(lowdbFiles(path)), (store) => store.close())
      expect(error).toBeInstanceOf(StoreCorruptError)
      expect((error as Error).message).toContain(reason)
      expect((error as Error).message).toContain('left untouched')
      expect(await readFile(path, 'utf8')).toBe(content)
      // The lock was released: the operator can fix the file and start again.
      await writeFile(path, '{"format":"settleproof-store","version":1,"chain":null}')
      await (await openLowdbStore(lowdbFiles(path))).close()
    })
  }

  it('survives SIGKILL at random moments during writes: every acknowledged commit is on disk and the file always opens', async () => {
    const path = fresh()
    const writer = fileURLToPath(new URL('../../support/store-writer.ts', import.meta.url))
    let acknowledged = 0
    const KILLS = 12
    for (let kill = 0; kill < KILLS; kill++) {
      const child = spawn(process.execPath, [writer, path], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      // Wait for the store to open (however long a busy machine takes to start Node: the event,
      // not a clock, bounded by the test's timeout), then let it write for a random 5-80 ms.
      const opened = new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => ((out += chunk.toString('utf8')), out.includes('opened') && resolve())))
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
      await Promise.race([opened, exited])
      expect(out).toMatch(/opened (\d+)/)
      expect(Number(/opened (\d+)/.exec(out)![1])).toBeGreaterThanOrEqual(acknowledged)
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 75)))
      child.kill('SIGKILL')
      await exited
      const commits = [...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1]))
      if (commits.length > 0) acknowledged = Math.max(acknowledged, commits.at(-1)!)
      const onDisk = (await readLowdbStoreSnapshot(path))?.chain ?? null
      // Killed before its first commit (a slow start-up): nothing on disk, and nothing was acknowledged.
      if (onDisk === null) {
        expect(acknowledged).toBe(0)
        continue
      }
      expect(onDisk.checkpoint).toBeGreaterThanOrEqual(acknowledged)
      expect(onDisk.blocks[0]!.number).toBe(onDisk.checkpoint)
    }
    expect(acknowledged).toBeGreaterThan(0)
    // The dead writers' locks were taken over; no temporary file is left beside the store.
    const store = await openLowdbStore(lowdbFiles(path))
    await store.close()
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  }, 180_000) // twelve Node start-ups: slow on a busy machine

  it('commits by appending to the journal, folds it into the snapshot on close, and replays it after a crash', async () => {
    const path = fresh()
    const store = await openLowdbStore(lowdbFiles(path))
    for (let i = 1; i <= 5; i++) await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: i }))
    expect((await readFile(`${path}.journal`, 'utf8')).trim().split('\n')).toHaveLength(5)
    await store.close()
    expect(await readFile(`${path}.journal`, 'utf8')).toBe('')
    expect(JSON.parse(await readFile(path, 'utf8')).chain.checkpoint).toBe(5)
  })

  it('drops a torn last journal line (a write a crash cut short), but refuses a damaged line before it', async () => {
    const path = fresh()
    const store = await openLowdbStore(lowdbFiles(path))
    await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: 1 }))
    await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: 2 }))
    const journal = await readFile(`${path}.journal`, 'utf8')
    // Simulate a crash: the files as a dead process leaves them (its lock died with it). This
    // process still holds the original's lock, so a copy stands in for them.
    const crashed = fresh()
    await writeFile(`${crashed}.journal`, `${journal}{"seq":3,"chain":{"chainId":7,"checkp`)
    const reopened = await openLowdbStore(lowdbFiles(crashed))
    expect((await reopened.read((r) => r.getChainState()))?.checkpoint).toBe(2)
    expect(await readFile(`${crashed}.journal`, 'utf8')).toBe(journal)
    await reopened.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: 3 }))
    const lines = (await readFile(`${crashed}.journal`, 'utf8')).trim().split('\n')
    const damaged = fresh()
    await writeFile(`${damaged}.journal`, [lines[0], 'garbage', ...lines.slice(1)].join('\n') + '\n')
    await expect(openLowdbStore(lowdbFiles(damaged))).rejects.toThrow(StoreCorruptError)
    await expect(openLowdbStore(lowdbFiles(damaged))).rejects.toThrow(/journal line at byte \d+ fails its checksum/)
    await reopened.close()
    await store.close()
  })

  it('on a full disk (ulimit -f: real short writes, then EFBIG) acknowledges only whole lines, cuts the rest back, and then refuses reads as well as writes', async () => {
    const path = fresh()
    const writer = fileURLToPath(new URL('../../support/store-fault-writer.ts', import.meta.url))
    // 24 KiB: some dozens of invoice lines, written in groups of 8 concurrent commits (one write each).
    const child = spawn('/bin/sh', ['-c', 'ulimit -f "$0" && exec "$@"', String(48), process.execPath, writer, path], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    clearTimeout(timer)
    expect(err).toBe('')
    expect(code).toBe(0)
    const report = JSON.parse(out) as { acknowledged: string[]; refused: string[]; servedButLost: string[]; read: object; has: object; find: object; list: object; retry: object; isOpen: boolean; failed: string | null }
    expect(report.acknowledged.length).toBeGreaterThan(8)
    expect(report.refused.length).toBeGreaterThan(0)
    // Reads made while a commit was in memory but not yet on disk waited for it: none returned what was then lost.
    expect(report.servedButLost).toEqual([])
    // What failed is not served from memory, by any read, nor by a retried transaction.
    expect(report).toMatchObject({ read: { threw: 'STORE_WRITE_FAILED' }, has: { threw: 'STORE_WRITE_FAILED' }, find: { threw: 'STORE_WRITE_FAILED' }, list: { threw: 'STORE_WRITE_FAILED' }, retry: { threw: 'STORE_WRITE_FAILED' }, isOpen: false, failed: 'STORE_WRITE_FAILED' })
    // On disk: the journal ends with a whole line, and holds every acknowledged commit and no refused one.
    const journal = await readFile(`${path}.journal`, 'utf8')
    expect(journal.endsWith('\n')).toBe(true)
    for (const uuid of report.refused) expect(journal).not.toContain(uuid)
    await writeFile(`${path}.lock`, JSON.stringify({ pid: 999_999_999 }))
    const reopened = await openLowdbStore(lowdbFiles(path))
    try {
      const stored = async (uuid: string) => (await reopened.read((r) => r.getInvoice(uuid))) !== undefined
      const kept = await Promise.all(report.acknowledged.map(stored))
      const refusedKept = await Promise.all(report.refused.map(stored))
      expect(report.acknowledged.filter((_, i) => !kept[i])).toEqual([])
      expect(report.refused.filter((_, i) => refusedKept[i])).toEqual([])
    } finally {
      await reopened.close()
    }
  }, 90_000)

  const invoice = openInvoice()
  const snapshot = (patch: (document: Record<string, any>) => void) => {
    const document: Record<string, any> = { ...emptyDocument(), chain: initialChainState(7, 1), invoices: { [invoice.uuid]: { ...invoice } } }
    patch(document)
    return JSON.stringify(document)
  }
  for (const [label, content, problem] of [
    ['an invoice missing fields', snapshot((d) => delete d.invoices[invoice.uuid].requestHash), `invoices["${invoice.uuid}"].requestHash: `],
    ['an amount as a number', snapshot((d) => (d.invoices[invoice.uuid].amount = 1000)), `invoices["${invoice.uuid}"].amount: `],
    ['chain blocks that are not an array', snapshot((d) => (d.chain.blocks = {})), 'chain.blocks: '],
    ['no chain key', snapshot((d) => delete d.chain), 'chain: '],
  ] as const) {
    it(`refuses a snapshot with ${label}, naming the file and where, and never rewrites it`, async () => {
      const path = fresh()
      await writeFile(path, content)
      const error = await errorOf(openLowdbStore(lowdbFiles(path)), (store) => store.close())
      expect(error).toBeInstanceOf(StoreCorruptError)
      expect((error as Error).message).toContain(`store ${path} is unreadable (${problem}`)
      expect(await readFile(path, 'utf8')).toBe(content)
      expect(await readLowdbStoreSnapshot(path).catch((e: unknown) => e)).toBeInstanceOf(StoreCorruptError)
    })
  }
})
