import { hostname } from 'node:os'
import { open, readFile, rm } from 'node:fs/promises'
import { StoreLockedError } from './errors.ts'

/** A held lock; `release` is idempotent. */
export type WriterLock = { readonly path: string; release(): Promise<void> }

/**
 * Takes the one-writer lock beside a store: a file created exclusively that holds the
 * owner's pid. A lock whose owner is gone (a crash, SIGKILL) is taken over, so a supervisor
 * restart never needs an operator; a live owner makes this throw.
 * @throws {StoreLockedError}
 */
export async function acquireWriterLock(storePath: string): Promise<WriterLock> {
  const path = `${storePath}.lock`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600)
      try {
        await file.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }))
        await file.sync()
      } finally {
        await file.close()
      }
      let released = false
      return {
        path,
        async release() {
          if (released) return
          released = true
          await rm(path, { force: true })
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = await readOwner(path)
      if (owner !== undefined && isAlive(owner)) throw new StoreLockedError(storePath, owner)
      await rm(path, { force: true })
    }
  }
  const owner = await readOwner(path)
  throw new StoreLockedError(storePath, owner ?? -1)
}

async function readOwner(path: string): Promise<number | undefined> {
  try {
    const { pid } = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown }
    return typeof pid === 'number' ? pid : undefined
  } catch {
    // Unreadable or half-written by an owner that died while writing it: treat as stale.
    return undefined
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
