import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initialChainState } from '../../../src/chain/chain-state.ts'
import { StoreWriteError } from '../../../src/store/errors.ts'
import { StoreCorruptError } from '../../../src/store/lowdb/errors.ts'
import { journalLine } from '../../../src/store/lowdb/journal.ts'
import { openLowdbStore } from '../../../src/store/lowdb/lowdb-store.ts'
import { lowdbFiles } from '../../support/lowdb-files.ts'
import { errorOf } from '../../support/error-of.ts'

let dir: string
let count = 0
const fresh = () => join(dir, `store-${++count}.json`)
const checkpoint = (n: number) => ({ ...initialChainState(7, 0), checkpoint: n })
/**
 * The files as a process that died (SIGKILL) leaves them, at a new path: the kernel released its
 * lock, but this process still holds the original's, so a copy of the journal stands in.
 */
async function crashedCopy(path: string): Promise<string> {
  const copy = fresh()
  await copyFile(`${path}.journal`, `${copy}.journal`)
  return copy
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-journal-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A store with three committed checkpoints in its journal, left as a crash leaves it (no snapshot). */
async function crashedWithThreeCommits(): Promise<{ path: string; journal: Buffer; lastLineAt: number }> {
  const original = fresh()
  const store = await openLowdbStore(lowdbFiles(original))
  for (const n of [101, 202, 303]) await store.transact((tx) => tx.putChainState(checkpoint(n)))
  const path = await crashedCopy(original)
  await store.close()
  const journal = await readFile(`${path}.journal`)
  return { path, journal, lastLineAt: journal.subarray(0, -1).lastIndexOf(0x0a) + 1 }
}

const openError = (path: string) => errorOf(openLowdbStore(lowdbFiles(path)), (store) => store.close())

describe('journal records', () => {
  it('refuses a flipped byte in the last complete line (an acknowledged commit), naming the file and the byte, and leaves the file byte for byte', async () => {
    const { path, journal, lastLineAt } = await crashedWithThreeCommits()
    // 303 → 393: still valid JSON of the right shape, a different acknowledged value.
    const at = journal.indexOf('303', lastLineAt) + 1
    const damaged = Buffer.from(journal)
    damaged[at] = '9'.charCodeAt(0)
    await writeFile(`${path}.journal`, damaged)
    const error = await openError(path)
    expect(error).toBeInstanceOf(StoreCorruptError)
    expect((error as Error).message).toContain(`store ${path}.journal is unreadable (journal line at byte ${lastLineAt} fails its checksum`)
    expect((await readFile(`${path}.journal`)).equals(damaged)).toBe(true)
  })

  it('refuses a complete last line that does not parse, instead of dropping it as a torn write', async () => {
    const { path, journal, lastLineAt } = await crashedWithThreeCommits()
    const damaged = Buffer.concat([journal.subarray(0, lastLineAt + 20), Buffer.from('\n')])
    await writeFile(`${path}.journal`, damaged)
    const error = await openError(path)
    expect(error).toBeInstanceOf(StoreCorruptError)
    expect((error as Error).message).toContain(`journal line at byte ${lastLineAt}`)
    expect((await readFile(`${path}.journal`)).equals(damaged)).toBe(true)
  })

  it('refuses a record of the wrong shape even when its checksum holds, naming where', async () => {
    const path = fresh()
    const bad = journalLine({ seq: 1, chain: { ...checkpoint(5), blocks: 'none' as never } })
    await writeFile(`${path}.journal`, bad)
    const error = await openError(path)
    expect(error).toBeInstanceOf(StoreCorruptError)
    expect((error as Error).message).toContain('journal line at byte 0 is not a store record (chain.blocks: ')
    expect(await readFile(`${path}.journal`, 'utf8')).toBe(bad)
  })

  it('still drops a torn tail (no final newline: never acknowledged)', async () => {
    const { path, journal, lastLineAt } = await crashedWithThreeCommits()
    await writeFile(`${path}.journal`, journal.subarray(0, lastLineAt + 20))
    const store = await openLowdbStore(lowdbFiles(path))
    expect((await store.read((r) => r.getChainState()))?.checkpoint).toBe(202)
    await store.close()
  })

  it("replays a journal the previous release wrote (lines without a checksum), then appends checksummed lines after it", async () => {
    const path = fresh()
    const legacy = [1, 2].map((seq) => `${JSON.stringify({ seq, chain: checkpoint(seq * 10) })}\n`).join('')
    await writeFile(`${path}.journal`, legacy)
    const store = await openLowdbStore(lowdbFiles(path))
    expect((await store.read((r) => r.getChainState()))?.checkpoint).toBe(20)
    await store.transact((tx) => tx.putChainState(checkpoint(30)))
    expect(await readFile(`${path}.journal`, 'utf8')).toBe(legacy + journalLine({ seq: 3, chain: checkpoint(30) }))
    const again = await openLowdbStore(lowdbFiles(await crashedCopy(path)))
    expect((await again.read((r) => r.getChainState()))?.checkpoint).toBe(30)
    await again.close()
    await store.close()
  })

  for (const [label, act] of [
    ['deleted', (journal: string) => rm(journal)],
    ['replaced by a copy', async (journal: string) => (await copyFile(journal, `${journal}.copy`), await rename(`${journal}.copy`, journal))],
  ] as const) {
    it(`notices a journal ${label} under the open store before the next append: the commit fails, the store fails as a whole`, async () => {
      const path = fresh()
      const store = await openLowdbStore(lowdbFiles(path))
      await store.transact((tx) => tx.putChainState(checkpoint(1)))
      await act(`${path}.journal`)
      const error = await store.transact((tx) => tx.putChainState(checkpoint(2))).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreWriteError)
      expect((error as Error).message).toContain(`its journal ${path}.journal was deleted or replaced`)
      await expect(store.failed).rejects.toBe(error)
      await expect(store.read((r) => r.getChainState())).rejects.toThrow(StoreWriteError)
      expect(store.availability().available).toBe(false)
      await store.close()
    })
  }
})
