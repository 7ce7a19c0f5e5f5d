// A child process for writer-lock tests. `hold PATH`: takes the lock, prints "held <pid>" and
// keeps it until killed (bounded: it gives up after a minute). `wait PATH`: retries every 20 ms
// until the lock is free (bounded), then prints "took <pid>" and exits, releasing it.
import { StoreLockedError } from '../../src/store/lowdb/errors.ts'
import { acquireWriterLock } from '../../src/store/lowdb/writer-lock.ts'

const [mode, path] = process.argv.slice(2)
if ((mode !== 'hold' && mode !== 'wait') || !path) throw new Error('usage: lock-holder.ts hold|wait PATH')
if (mode === 'hold') {
  await acquireWriterLock(path)
  process.stdout.write(`held ${process.pid}\n`)
  setTimeout(() => process.exit(0), 60_000)
} else {
  process.stdout.write(`waiting ${process.pid}\n`)
  for (let attempt = 0; attempt < 1_500; attempt++) {
    try {
      const lock = await acquireWriterLock(path)
      process.stdout.write(`took ${process.pid}\n`)
      await lock.release()
      process.exit(0)
    } catch (error) {
      if (!(error instanceof StoreLockedError)) throw error
      if (attempt === 0) process.stdout.write(`refused: ${error.message}\n`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  process.exit(3)
}
