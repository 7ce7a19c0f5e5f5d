import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { statedSpan } from '../../src/chain/stated-span.ts'
import { REFUSED_PIECE as refused, STATED_REFUSALS, UNSTATED_REFUSALS, type RangeRefusal } from '../support/range-refusals.ts'

describe('statedSpan reads the span a provider says it serves, through getLogsRetryHelper', () => {
  it.each(STATED_REFUSALS)('$family → $span blocks', ({ rpcCode, message, span }) => {
    expect(statedSpan({ rpcCode, message }, refused)).toBe(span)
  })

  it.each(UNSTATED_REFUSALS)('$family → none (halve)', ({ rpcCode, message }) => {
    expect(statedSpan({ rpcCode, message }, refused)).toBeUndefined()
  })

  it('counts a suggested [0xA, 0xB] as B − A + 1 blocks', () => {
    expect(statedSpan({ rpcCode: -32005, message: 'query returned more than 10000 results. Try with this block range [0x64, 0x6a].' }, { fromBlock: 100, toBlock: 199 })).toBe(7)
    expect(statedSpan({ rpcCode: -32005, message: 'query returned more than 10000 results. Try with this block range [0x64, 0x64].' }, { fromBlock: 100, toBlock: 199 })).toBe(1)
  })

  it('states nothing when the stated span is not narrower than the refused piece', () => {
    const quicknode = { rpcCode: -32614, message: 'eth_getLogs is limited to a 10,000 range' }
    expect(statedSpan(quicknode, { fromBlock: 1, toBlock: 10_001 })).toBeUndefined() // 10,001 blocks: what it allows
    expect(statedSpan(quicknode, { fromBlock: 1, toBlock: 500 })).toBeUndefined()
    expect(statedSpan(quicknode, { fromBlock: 1, toBlock: 10_002 })).toBe(10_001)
  })

  it('reads the chainstack rule by the refused span (100 below 10,000)', () => {
    expect(statedSpan({ rpcCode: -32000, message: 'Block range limit exceeded.' }, { fromBlock: 1, toBlock: 5_000 })).toBe(101)
  })
})

describe('a message that states a span under one block', () => {
  // getLogsRetryHelper cuts the range in steps of (limit + 1) and subtracts one from some stated
  // limits: "Max range: 0" or a suggested [0x7, 0x6] makes it step by zero and never return. A
  // provider's words must not hang the reader, so these never reach it. Each runs in a child
  // process with a deadline, so a regression fails here instead of hanging the test run.
  const cases: Omit<RangeRefusal, 'span'>[] = [
    { family: 'a zero limit (Cloudflare wording)', rpcCode: -32000, message: 'Max range: 0' },
    { family: 'a zero limit (Coinbase wording)', rpcCode: -32005, message: 'please limit the query to at most 0 blocks' },
    { family: 'a zero limit (Avalanche wording)', rpcCode: -32000, message: 'requested too many blocks from 1 to 100, maximum is set to 0' },
    { family: 'a zero limit (Tron wording)', rpcCode: -32000, message: 'exceed max block range: 0.' },
    { family: 'a suggested range one block backwards', rpcCode: -32005, message: 'query returned more than 10000 results. Try with this block range [0x7, 0x6].' },
    { family: 'a suggested range far backwards', rpcCode: -32600, message: 'Based on your parameters, this block range should work: [0x70, 0x6]' },
  ]
  const moduleUrl = new URL('../../src/chain/stated-span.ts', import.meta.url).href

  it.each(cases)('$family → none, and returns', async ({ rpcCode, message }) => {
    const script = `import { statedSpan } from ${JSON.stringify(moduleUrl)}
      const span = statedSpan(${JSON.stringify({ rpcCode, message })}, { fromBlock: 1, toBlock: 100 })
      process.stdout.write(JSON.stringify({ span: span ?? null }))`
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000, killSignal: 'SIGKILL' })
    expect(JSON.parse(stdout)).toEqual({ span: null })
  })
})
