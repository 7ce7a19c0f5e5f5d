// A child process for crash tests: commits checkpoint 1, 2, 3, ... to a lowdb store as fast as
// it can, printing "committed N" only after transact() resolved (the write is durable).
import { openLowdbStore } from '../../src/store/lowdb/lowdb-store.ts'
import { lowdbFiles } from './lowdb-files.ts'
import { initialChainState } from '../../src/chain/chain-state.ts'

const path = process.argv[2]
if (!path) throw new Error('usage: store-writer.ts STORE_PATH')
const store = await openLowdbStore(lowdbFiles(path))
let checkpoint = (await store.read((r) => r.getChainState()))?.checkpoint ?? 0
process.stdout.write(`opened ${checkpoint}\n`)
// Bounded: the parent kills it long before; if not, it stops by itself.
for (let i = 0; i < 100_000; i++) {
  checkpoint++
  const next = checkpoint
  await store.transact(async (tx) => tx.putChainState({ ...((await tx.getChainState()) ?? initialChainState(1, 0)), checkpoint: next, blocks: [{ number: next, hash: `0x${next.toString(16).padStart(64, '0')}` }] }))
  process.stdout.write(`committed ${next}\n`)
}
await store.close()
