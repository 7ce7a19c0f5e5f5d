import { afterAll, beforeAll, expect, it } from 'vitest'
import { encodeFunctionData, toHex, type Hex } from 'viem'
import { acceptedLogs, readUntilCaughtUp, startChainFixture, startReader, type ChainFixture } from '../support/reader-harness.ts'
import { retryingStore } from '../support/retrying-store.ts'
import { tokenAbi } from '../support/token.ts'

let chain: ChainFixture

beforeAll(async () => {
  chain = await startChainFixture()
})
afterAll(async () => {
  await chain.close()
})

// The second run has every transaction run twice, the first run aborted (as PostgreSQL may on a
// serialization failure): the reader must come to the same state and hand each event on once.
for (const [label, wrapStore] of [
  ['', undefined],
  [' (every transaction run twice, as a retrying database would)', retryingStore],
] as const) {
  it(`detects an anvil_reorg below the checkpoint, rolls back to the fork point, re-reads, and reports only the transfers that vanished${label}`, async () => {
    const r = await startReader(chain, {}, `store${label === '' ? '' : '-retried'}.json`, wrapStore)
    try {
      const merchant = chain.merchantAddresses[0]!
      const kept = await chain.token.transfer(chain.payer, merchant, 11n)
      // `moved` comes first so that its nonce is still valid on the new branch.
      const moved = await chain.token.transfer(chain.payer, merchant, 13n)
      const vanishing = await chain.token.transfer(chain.payer, merchant, 12n)
      const rawMoved = (await chain.anvil.client.request({ method: 'eth_getRawTransactionByHash' as never, params: [moved] as never })) as Hex
      await readUntilCaughtUp(r.reader)
      const checkpointBefore = (await r.store.read((s) => s.getChainState()))!.checkpoint
      const keptBlock = Number((await chain.anvil.client.getTransactionReceipt({ hash: kept })).blockNumber)
      expect(acceptedLogs(r.events).map((log) => log.txHash)).toEqual(expect.arrayContaining([kept, vanishing, moved]))

      // Replace the last two blocks (those of `moved` and `vanishing`): `moved` is mined again in the
      // new branch, `vanishing` is not, and a new transfer takes its nonce.
      const { nonce } = await chain.anvil.client.getTransaction({ hash: vanishing })
      const fresh = encodeFunctionData({ abi: tokenAbi, functionName: 'transfer', args: [merchant, 14n] })
      await chain.anvil.client.request({
        method: 'anvil_reorg' as never,
        params: [2, [[rawMoved, 0], [{ from: chain.payer, to: chain.token.address, data: fresh, nonce: toHex(nonce), gas: toHex(100_000) }, 1]]] as never,
      })
      expect(Number(await chain.anvil.client.getBlockNumber())).toBe(checkpointBefore)

      const outcome = await r.reader.runRound()
      expect(outcome).toMatchObject({ kind: 'reorg', previousCheckpoint: checkpointBefore })
      if (outcome.kind !== 'reorg') throw new Error('unreachable')
      expect(outcome.forkBlock).toBeGreaterThanOrEqual(keptBlock)
      expect(outcome.forkBlock).toBeLessThan(checkpointBefore - 1)
      expect((await r.store.read((s) => s.getChainState()))!.checkpoint).toBe(outcome.forkBlock)

      const eventsBefore = r.events.length
      await readUntilCaughtUp(r.reader)
      const after = r.events.slice(eventsBefore)
      const reorg = after.find((event) => event.type === 'reorg')
      expect(reorg).toBeDefined()
      if (reorg?.type !== 'reorg') throw new Error('unreachable')
      expect(reorg.removed.map((log) => log.txHash)).toEqual([vanishing])
      const reread = acceptedLogs(after)
      expect(reread.map((log) => log.txHash)).toContain(moved)
      expect(reread.map((log) => log.value)).toContain('14')
      expect(reread.map((log) => log.txHash)).not.toContain(vanishing)
      expect((await r.store.read((s) => s.getChainState()))!.pendingReorg).toBeNull()
      expect(r.events.filter((event) => event.type === 'reorg')).toHaveLength(1)
      expect(r.reader.status().checkpoint).toBe((await r.store.read((s) => s.getChainState()))!.checkpoint)
    } finally {
      await r.close()
    }
  })
}
