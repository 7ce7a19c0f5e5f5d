import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAnvil, type Anvil } from '../support/anvil.ts'
import { deployToken, type TestToken } from '../support/token.ts'

const run = promisify(execFile)
const EXAMPLE = fileURLToPath(new URL('../../examples/verify-receipt.ts', import.meta.url))

let anvil: Anvil
let token: TestToken
let dir: string
let body: { type: string; data: Record<string, unknown> }

beforeAll(async () => {
  anvil = await startAnvil()
  token = await deployToken(anvil)
  dir = await mkdtemp(join(tmpdir(), 'settleproof-example-'))
  const [payer, merchant] = [anvil.accounts[1]!, anvil.accounts[2]!]
  await token.mint(payer, 10_000n)
  const hash = await token.transfer(payer, merchant, 1_250n)
  await anvil.client.mine({ blocks: 2 })
  const receipt = await anvil.client.getTransactionReceipt({ hash })
  const log = receipt.logs[0]!
  // The receipt bundle of SPEC §7, as the webhook carries it.
  body = {
    type: 'invoice.settled',
    data: {
      invoice_uuid: '3f1c3f5e-8a38-4d2b-9f4e-0d6f2b1d9a11', merchant_id: 'acme', chain_id: anvil.chainId, token: token.address,
      from: payer.toLowerCase(), to: merchant.toLowerCase(), amount: '1250', tx_hash: hash, block_number: Number(receipt.blockNumber),
      block_hash: receipt.blockHash, log_index: log.logIndex, confirmations: 1, providers: ['primary', 'secondary'],
      detected_at: new Date().toISOString(), settled_at: new Date().toISOString(),
    },
  }
})
afterAll(async () => {
  await anvil?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function verify(data: Record<string, unknown>) {
  const path = join(dir, `body-${Math.random().toString(36).slice(2)}.json`)
  await writeFile(path, JSON.stringify({ ...body, data }))
  try {
    const { stdout } = await run(process.execPath, [EXAMPLE, path, anvil.url])
    return { code: 0, stdout }
  } catch (error) {
    const e = error as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

describe('examples/verify-receipt.ts (a merchant re-checks a webhook on chain with viem)', () => {
  it('passes every check for the real payment, counting confirmations now', async () => {
    const result = await verify(body.data)
    expect(result.code).toBe(0)
    for (const name of ['chain', 'transaction', 'block number', 'block hash', 'token', 'from', 'to', 'amount']) expect(result.stdout).toContain(`ok   ${name}:`)
    expect(result.stdout).toContain('ok   confirmations: 3 now (the event said 1 when accepted)')
  })
  const tampered: [string, Record<string, unknown>, string][] = [
    ['another amount', { amount: '1251' }, 'FAIL amount'],
    ['another block hash', { block_hash: `0x${'ab'.repeat(32)}` }, 'FAIL block hash'],
    ['another recipient', { to: '0x000000000000000000000000000000000000dead' }, 'FAIL to'],
    ['another token', { token: '0x000000000000000000000000000000000000beef' }, 'FAIL token'],
    ['a transaction that does not exist', { tx_hash: `0x${'12'.repeat(32)}` }, 'FAIL transaction'],
    ['another chain', { chain_id: 1 }, 'FAIL chain'],
  ]
  for (const [label, change, expected] of tampered) {
    it(`fails on ${label}, naming the check`, async () => {
      const result = await verify({ ...body.data, ...change })
      expect(result.code).toBe(1)
      expect(result.stdout).toContain(expected)
    })
  }
})
