import type { FileHandle } from 'node:fs/promises'

/**
 * Writes all of `buffer` at `position`, or throws. One `write` is one system call, and the
 * kernel may write less than asked (a full disk, a file size limit: it writes what fits and
 * says so; the next call fails with ENOSPC or EFBIG). Ignoring the count would acknowledge a
 * line of which only the start is on disk.
 */
export async function writeFully(file: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let written = 0
  while (written < buffer.length) {
    const { bytesWritten } = await file.write(buffer, written, buffer.length - written, position + written)
    // No error and no progress would loop for ever: call it what it is, an I/O failure.
    if (bytesWritten <= 0) throw Object.assign(new Error(`write at byte ${position + written} made no progress`), { code: 'EIO' })
    written += bytesWritten
  }
}
