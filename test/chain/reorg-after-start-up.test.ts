import { afterEach, expect, it } from 'vitest'
import { encodeFunctionData, toHex, type Hex } from 'viem'
import { acceptedLogs, readUntilCaughtUp, startChainFixture, startReader, type ChainFixture } from '../support/reader-harness.ts'
import { tokenAbi } from '../support/token.ts'

// Issue 9 item 8: with confirmations 1 the first round reads start_block..head in one range and
// keeps only that range's end and the blocks with accepted logs. A reorg of depth 2 can change
// every one of them; it is still no deeper than chain.reorg_window and must be rolled back.

let chain: ChainFixture | undefined

afterEach(async () => {
  await chain?.close()
  chain = undefined
})

const blockOf = async (c: ChainFixture, hash: Hex) => Number((await c.anvil.client.getTransactionReceipt({ hash })).blockNumber)

it('rolls back and re-reads a depth-2 reorg that replaces every kept block right after start-up, and resumes after a restart', async () => {
  const c = (chain = await startChainFixture())
  const merchant = c.merchantAddresses[0]!
  // The parent block pays 13 (mined again on the new branch), the head pays 12 (gone for good).
  const moved = await c.token.transfer(c.payer, merchant, 13n)
  const vanishing = await c.token.transfer(c.payer, merchant, 12n)
  const rawMoved = (await c.anvil.client.request({ method: 'eth_getRawTransactionByHash' as never, params: [moved] as never })) as Hex
  const head = Number(await c.anvil.client.getBlockNumber())
  expect(await blockOf(c, vanishing)).toBe(head)
  expect(await blockOf(c, moved)).toBe(head - 1)

  const storeName = 'reorg-after-start-up.json'
  const r = await startReader(c, {}, storeName)
  try {
    expect(await r.reader.runRound()).toMatchObject({ kind: 'advanced', fromBlock: 1, toBlock: head, caughtUp: true })
    const kept = (await r.store.read((s) => s.getChainState()))!.blocks.map((b) => b.number)
    expect(kept).toEqual([head - 1, head]) // every kept block lies in the two blocks the reorg replaces

    const { nonce } = await c.anvil.client.getTransaction({ hash: vanishing })
    const fresh = encodeFunctionData({ abi: tokenAbi, functionName: 'transfer', args: [merchant, 14n] })
    await c.anvil.client.request({
      method: 'anvil_reorg' as never,
      params: [2, [[rawMoved, 0], [{ from: c.payer, to: c.token.address, data: fresh, nonce: toHex(nonce), gas: toHex(100_000) }, 1]]] as never,
    })
    expect(Number(await c.anvil.client.getBlockNumber())).toBe(head)

    const outcome = await r.reader.runRound()
    // No kept block survived, so the fork is the floor: start_block - 1 (the window reaches below it).
    expect(outcome).toEqual({ kind: 'reorg', forkBlock: 0, previousCheckpoint: head })

    const before = r.events.length
    await readUntilCaughtUp(r.reader)
    const after = r.events.slice(before)
    const reorg = after.find((event) => event.type === 'reorg')
    if (reorg?.type !== 'reorg') throw new Error('no reorg event after the re-read')
    expect(reorg.removed.map((log) => log.txHash)).toEqual([vanishing])
    const reread = acceptedLogs(after)
    expect(reread.map((log) => log.txHash)).toContain(moved)
    expect(reread.map((log) => log.value)).toContain('14')
    expect(reread.map((log) => log.txHash)).not.toContain(vanishing)
    const state = (await r.store.read((s) => s.getChainState()))!
    expect(state.pendingReorg).toBeNull()
    expect(state.checkpoint).toBe(head)
  } finally {
    await r.close()
  }

  // A restart resumes from the re-read checkpoint and reads on.
  const again = await startReader(c, {}, storeName)
  try {
    const later = await c.token.transfer(c.payer, merchant, 15n)
    await readUntilCaughtUp(again.reader)
    expect(acceptedLogs(again.events).map((log) => log.txHash)).toEqual([later])
    expect((await again.store.read((s) => s.getChainState()))!.checkpoint).toBe(await blockOf(c, later))
  } finally {
    await again.close()
  }
})

it('still stops with REORG_TOO_DEEP when a block final by chain.reorg_window changes', async () => {
  const c = (chain = await startChainFixture())
  const r = await startReader(c, { chain: { id: c.anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50, max_block_range: 1000, reorg_window: 2 } })
  try {
    await readUntilCaughtUp(r.reader)
    // One block per round: the range ends of the last reorg_window + 1 blocks are kept.
    for (let i = 0; i < 3; i++) {
      await c.token.transfer(c.payer, c.merchantAddresses[0]!, BigInt(20 + i))
      expect(await r.reader.runRound()).toMatchObject({ kind: 'advanced', caughtUp: true })
    }
    const { checkpoint, blocks } = (await r.store.read((s) => s.getChainState()))!
    expect(blocks[0]!.number).toBe(checkpoint - 2) // the floor's own hash is kept

    // Depth 4 replaces the floor block (checkpoint - 2) too.
    await c.anvil.client.request({ method: 'anvil_reorg' as never, params: [4, []] as never })
    await expect(r.reader.runRound()).rejects.toMatchObject({ code: 'REORG_TOO_DEEP' })
    expect((await r.store.read((s) => s.getChainState()))!.checkpoint).toBe(checkpoint)
  } finally {
    await r.close()
  }
})
