import { mkdir, stat } from 'node:fs/promises'
import { dirname, parse, sep } from 'node:path'
import { StoreLocationError } from './errors.ts'

/**
 * Creates the directory that holds the store's files (and its parents), or says exactly why
 * it cannot. Node's recursive mkdir reports ENOENT when the real cause is a read-only
 * filesystem or a missing permission, so on failure the path is walked one directory at a
 * time to find the part that fails and its own errno.
 * @param path the store file; its directory is created.
 * @param setting the configuration key that names `path`, for the message.
 * @throws {StoreLocationError} naming the failing directory and what to do.
 */
export async function createStoreDirectory(path: string, setting = 'storage.path'): Promise<void> {
  const directory = dirname(path)
  try {
    await mkdir(directory, { recursive: true })
  } catch (error) {
    const { failedPath, cause } = await findFailingDirectory(directory, error)
    throw new StoreLocationError(path, failedPath, cause, setting)
  }
}

/** The first directory on the way down to `directory` that is not one or cannot be made. */
async function findFailingDirectory(directory: string, original: unknown): Promise<{ failedPath: string; cause: unknown }> {
  const { root } = parse(directory)
  let current = root
  for (const part of directory.slice(root.length).split(sep).filter((p) => p !== '')) {
    current = current === root ? `${root}${part}` : `${current}${sep}${part}`
    try {
      const found = await stat(current)
      if (!found.isDirectory()) return { failedPath: current, cause: Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' }) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return { failedPath: current, cause: error }
      try {
        await mkdir(current)
      } catch (mkdirError) {
        if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') return { failedPath: current, cause: mkdirError }
      }
    }
  }
  return { failedPath: directory, cause: original }
}
