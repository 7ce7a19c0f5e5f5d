import { closeSync, fstatSync, ftruncateSync, openSync, readSync, statSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { DatabaseSync } from 'node:sqlite'
import { StoreLocationError, StoreLockedError, type StoreLockOwner } from './errors.ts'

/** A held lock; `release` is idempotent. */
export type WriterLock = { readonly path: string; release(): Promise<void> }

/** Who holds a lock, as its `<path>.lock.owner` record says: informational, never the lock itself. */
export type WriterLockOwner = StoreLockOwner & { since: string }

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1')

/** SQLITE_BUSY and SQLITE_LOCKED, the primary codes node:sqlite reports (as `errcode`) when another process holds the lock. */
const SQLITE_BUSY_CODES = new Set([5, 6])

/**
 * The locks this process holds, by the lock file's device and inode, with their open
 * connections. fcntl locks never exclude a process from itself, so this map is what refuses a
 * second taker in the same process; holding the connection here also keeps it from being
 * garbage-collected (which would close it and drop the lock) while the lock is held.
 */
const held = new Map<string, DatabaseSync>()

/**
 * Takes the one-writer lock beside `basePath`: the file `<basePath>.lock`, locked by the
 * kernel for as long as this process holds it, and released by the kernel when the process
 * dies however it dies (SIGKILL, OOM, a container stop). A restart never waits for an
 * operator, and no pid is ever compared: a container restart gives the new process the same
 * pid as the dead one (node is pid 1 in the image), and after a host reboot a stale pid names
 * some live, unrelated process, so a pid file cannot tell a dead owner from a live one.
 *
 * Node has no flock(). The lock is taken through the built-in `node:sqlite` (no new package,
 * no native addon): the lock file is opened as an (always empty) SQLite database with
 * `PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE`, which puts a POSIX fcntl write lock on it
 * and keeps it until the connection closes; another process's attempt fails at once with
 * "database is locked". Alternatives considered: an abstract unix socket is released with the
 * process too, but it is Linux-only and scoped to a network namespace, not to the files
 * (two containers sharing a volume would both get one); a lock directory or a pid file is
 * never released by the kernel.
 *
 * Two properties of fcntl locks shape the rest: they never exclude within one process (so the
 * `held` map refuses a second taker here), and closing ANY descriptor of the file drops all
 * of the process's locks on it, so nothing else in the process may open the lock file while
 * the lock is held; the owner record therefore lives in a separate file, `<basePath>.lock.owner`,
 * read only to name the owner in the error. The lock file is left in place on release:
 * deleting it would let a process that opened the old file and one that created a new one
 * both hold "the" lock.
 * @throws {StoreLockedError} another process (or this one) holds the lock.
 * @throws {StoreLocationError} the lock file cannot be created or written (read-only filesystem, permissions).
 * @param setting the configuration key that names `basePath`, for the messages.
 */
export async function acquireWriterLock(basePath: string, setting = 'storage.path'): Promise<WriterLock> {
  const path = `${basePath}.lock`
  const ownerPath = `${path}.owner`
  // Synchronous up to the lock: no other acquire in this process may open the file in between.
  const key = prepareLockFile(basePath, path, setting)
  let database: DatabaseSync | undefined
  try {
    // timeout 0: a held lock is refused at once rather than waited for. journal_mode=MEMORY:
    // nothing is ever written, so no `-journal` file is left beside the lock by a killed owner.
    database = new DatabaseSync(path, { timeout: 0 })
    database.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; BEGIN EXCLUSIVE;')
  } catch (error) {
    try {
      database?.close()
    } catch {
      // Closing a connection that holds nothing cannot matter.
    }
    if (SQLITE_BUSY_CODES.has((error as { errcode?: number }).errcode ?? -1)) throw new StoreLockedError(basePath, await readOwner(ownerPath), setting)
    throw new StoreLocationError(basePath, path, error, setting)
  }
  held.set(key, database)
  const owner: WriterLockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() }
  // Informational only: a failure to write it leaves the lock held and the owner unnamed.
  await writeFile(ownerPath, `${JSON.stringify(owner)}\n`, { mode: 0o644 }).catch(() => undefined)
  let released = false
  return {
    path,
    async release() {
      if (released) return
      released = true
      // The owner record goes first: once the lock is free, the next owner's record must not be deleted.
      await rm(ownerPath, { force: true }).catch(() => undefined)
      held.delete(key)
      database.close()
    },
  }
}

/**
 * Refuses a lock this process holds already, before opening anything (opening and closing
 * the file would drop that lock). Then creates the lock file if it is missing (so a
 * read-only or forbidden directory fails here with its errno, not as an SQLite message) and
 * empties a file that is not an SQLite database: the pid file an earlier version left, which
 * no held lock file ever is (it stays empty).
 * @returns the file's device and inode, the key of `held`.
 * @throws {StoreLockedError | StoreLocationError}
 */
function prepareLockFile(basePath: string, path: string, setting: string): string {
  let fd: number
  try {
    const existing = statSync(path, { throwIfNoEntry: false })
    if (existing !== undefined && held.has(`${existing.dev}:${existing.ino}`)) throw new StoreLockedError(basePath, { pid: process.pid, host: hostname() }, setting)
    fd = openSync(path, 'a+', 0o600)
  } catch (error) {
    if (error instanceof StoreLockedError) throw error
    throw new StoreLocationError(basePath, path, error, setting)
  }
  try {
    const { dev, ino, size } = fstatSync(fd)
    if (size > 0) {
      const head = Buffer.alloc(SQLITE_HEADER.length)
      readSync(fd, head, 0, head.length, 0)
      if (!head.equals(SQLITE_HEADER)) ftruncateSync(fd, 0)
    }
    return `${dev}:${ino}`
  } catch (error) {
    throw new StoreLocationError(basePath, path, error, setting)
  } finally {
    closeSync(fd)
  }
}

async function readOwner(ownerPath: string): Promise<WriterLockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(ownerPath, 'utf8')) as Partial<WriterLockOwner>
    return typeof owner.pid === 'number' ? { pid: owner.pid, host: String(owner.host ?? ''), since: String(owner.since ?? '') } : undefined
  } catch {
    // Missing, or half-written by an owner that died while writing it: the owner is unnamed.
    return undefined
  }
}
