import { describe, expect, it } from 'vitest'
import { encodeAbiParameters, encodeEventTopics, erc20Abi, erc721Abi, getAddress, maxUint256, type Hex } from 'viem'
import { decodeTransfer, logFingerprint, normalizeLog, transferIdentity, type ObservedLog } from '../../src/chain/log.ts'

const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'

/** A raw log as viem's getLogs returns it: checksummed address, bigint block number, extra fields. */
function rawLog(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    address: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
    blockHash: '0xABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789',
    blockNumber: 19_000_000n,
    data: '0x00000000000000000000000000000000000000000000000000000000000F4240',
    logIndex: 7,
    removed: false,
    topics: [
      '0xDDF252AD1BE2C89B69C2B068FC378DAA952BA7F163C4A11628F55A4DF523B3EF',
      '0x000000000000000000000000AbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAb',
      '0x000000000000000000000000CdCdCdCdCdCdCdCdCdCdCdCdCdCdCdCdCdCdCdCd',
    ],
    transactionHash: '0xFEDCBA9876543210fedcba9876543210FEDCBA9876543210fedcba9876543210',
    transactionIndex: 3,
    ...overrides,
  }
}

function normalized(overrides: Record<string, unknown> = {}): ObservedLog {
  const result = normalizeLog(rawLog(overrides))
  if (typeof result === 'string') throw new Error(`expected a log, got: ${result}`)
  return result
}

describe('normalizeLog', () => {
  it('lower-cases every hex field and converts the bigint block number to a number', () => {
    expect(normalizeLog(rawLog())).toEqual({
      txHash: '0xfedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210',
      blockNumber: 19_000_000,
      blockHash: '0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789',
      logIndex: 7,
      address: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48',
      topics: [
        '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef',
        '0x000000000000000000000000abababababababababababababababababababab',
        '0x000000000000000000000000cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd',
      ],
      data: '0x00000000000000000000000000000000000000000000000000000000000f4240',
    })
  })

  it('returns a plain number block number, not a bigint', () => {
    expect(typeof normalized().blockNumber).toBe('number')
  })

  it('accepts a number block number as well', () => {
    expect(normalized({ blockNumber: 42 }).blockNumber).toBe(42)
  })

  it('accepts block 0 and log index 0', () => {
    const log = normalized({ blockNumber: 0n, logIndex: 0 })
    expect(log.blockNumber).toBe(0)
    expect(log.logIndex).toBe(0)
  })

  it('keeps only the fields a quorum compares (drops removed, transactionIndex and extras)', () => {
    const log = normalized({ extra: 'ignored', args: { from: '0x', to: '0x' }, eventName: 'Transfer' })
    expect(Object.keys(log).sort()).toEqual(['address', 'blockHash', 'blockNumber', 'data', 'logIndex', 'topics', 'txHash'])
  })

  describe('blockTimestamp', () => {
    it('is left out when the provider does not report it (viem then sets the key to undefined)', () => {
      const log = normalized({ blockTimestamp: undefined })
      expect(Object.hasOwn(log, 'blockTimestamp')).toBe(false)
      expect(Object.hasOwn(normalized(), 'blockTimestamp')).toBe(false)
    })

    it.each<[string, unknown, number]>([
      ['a bigint (viem)', 1_700_000_000n, 1_700_000_000],
      ['a number', 1_700_000_000, 1_700_000_000],
      ['a hex string', '0x6553f100', 1_700_000_000],
      ['an upper-case hex string', '0x6553F100', 1_700_000_000],
      ['zero', 0n, 0],
    ])('is converted to a number from %s', (_, blockTimestamp, expected) => {
      const log = normalized({ blockTimestamp })
      expect(log.blockTimestamp).toBe(expected)
      expect(typeof log.blockTimestamp).toBe('number')
    })

    it.each<[string, unknown]>([
      ['an empty hex string', '0x'],
      ['a non-hex string', '0xzz'],
      ['a decimal string', '1700000000'],
      ['NaN', Number.NaN],
      ['a boolean', true],
    ])('refuses %s', (_, blockTimestamp) => {
      expect(normalizeLog(rawLog({ blockTimestamp }))).toBe('malformed log at blockTimestamp')
    })
  })

  it('accepts a log without the removed flag', () => {
    const raw = rawLog()
    delete raw.removed
    expect(typeof normalizeLog(raw)).toBe('object')
  })

  it('accepts empty data and no topics (an anonymous event with no arguments)', () => {
    const log = normalized({ data: '0x', topics: [] })
    expect(log.data).toBe('0x')
    expect(log.topics).toEqual([])
  })

  it('preserves topic order', () => {
    const topics = [TRANSFER_TOPIC, `0x${'2'.repeat(64)}`, `0x${'1'.repeat(64)}`]
    expect(normalized({ topics }).topics).toEqual(topics)
  })

  it('gives the same result for the same log reported in different case', () => {
    const upper = normalized()
    const lower = normalizeLog(
      rawLog({
        address: (rawLog().address as string).toLowerCase(),
        blockHash: (rawLog().blockHash as string).toLowerCase(),
        transactionHash: (rawLog().transactionHash as string).toLowerCase(),
        topics: (rawLog().topics as string[]).map((t) => t.toLowerCase()),
        data: (rawLog().data as string).toLowerCase(),
        blockNumber: 19_000_000,
      }),
    )
    expect(lower).toEqual(upper)
  })

  it('refuses a log marked removed', () => {
    expect(normalizeLog(rawLog({ removed: true }))).toBe('log is marked removed')
  })

  it.each([['transactionHash'], ['blockNumber'], ['blockHash'], ['logIndex'], ['address'], ['topics'], ['data']])('refuses a log missing %s, naming the field', (field) => {
    const raw = rawLog()
    delete raw[field]
    const result = normalizeLog(raw)
    expect(typeof result).toBe('string')
    expect(result).toMatch(/^malformed log at /)
    expect(result).toContain(field)
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['a pending log (null block number)', { blockNumber: null }, 'blockNumber'],
    ['a pending log (null block hash)', { blockHash: null }, 'blockHash'],
    ['a pending log (null tx hash)', { transactionHash: null }, 'transactionHash'],
    ['a pending log (null log index)', { logIndex: null }, 'logIndex'],
    ['a decimal-string block number', { blockNumber: '16' }, 'blockNumber'],
    ['a NaN block number', { blockNumber: Number.NaN }, 'blockNumber'],
    ['a tx hash one character short', { transactionHash: `0x${'a'.repeat(63)}` }, 'transactionHash'],
    ['a tx hash one character long', { transactionHash: `0x${'a'.repeat(65)}` }, 'transactionHash'],
    ['a block hash without 0x', { blockHash: 'a'.repeat(64) }, 'blockHash'],
    ['a block hash with 0X', { blockHash: `0X${'a'.repeat(64)}` }, 'blockHash'],
    ['a block hash with a non-hex character', { blockHash: `0x${'a'.repeat(63)}g` }, 'blockHash'],
    ['a block hash with surrounding spaces', { blockHash: ` 0x${'a'.repeat(64)} ` }, 'blockHash'],
    ['a 19-byte address', { address: `0x${'a'.repeat(38)}` }, 'address'],
    ['a 21-byte address', { address: `0x${'a'.repeat(42)}` }, 'address'],
    ['a negative log index', { logIndex: -1 }, 'logIndex'],
    ['a fractional log index', { logIndex: 1.5 }, 'logIndex'],
    ['a decimal-string log index', { logIndex: '7' }, 'logIndex'],
    ['topics that are not an array', { topics: TRANSFER_TOPIC }, 'topics'],
    ['a short topic', { topics: [TRANSFER_TOPIC, '0x1234'] }, 'topics.1'],
    ['a null topic', { topics: [TRANSFER_TOPIC, null] }, 'topics.1'],
    ['data that is not hex', { data: '0xzz' }, 'data'],
    ['data without 0x', { data: '00' }, 'data'],
    ['data that is a number', { data: 0 }, 'data'],
    ['removed given as a string', { removed: 'true' }, 'removed'],
  ])('refuses %s', (_, overrides, path) => {
    expect(normalizeLog(rawLog(overrides))).toBe(`malformed log at ${path}`)
  })

  it('accepts the raw JSON-RPC form: hex quantities for block number, log index and block time', () => {
    expect(normalized({ blockNumber: '0x10', logIndex: '0x7', blockTimestamp: '0x6553f100' })).toMatchObject({ blockNumber: 16, logIndex: 7, blockTimestamp: 0x6553f100 })
    expect(normalized({ logIndex: 7n })).toMatchObject({ logIndex: 7 })
  })

  it('reports the first problem when there are several', () => {
    const result = normalizeLog(rawLog({ transactionHash: 1, data: 2 }))
    expect(result).toMatch(/^malformed log at (transactionHash|data)$/)
  })

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'a log'],
    ['a number', 42],
    ['an empty array', []],
    ['an array holding a log', [rawLog()]],
  ])('refuses %s', (_, raw) => {
    const result = normalizeLog(raw)
    expect(typeof result).toBe('string')
    expect(result).toMatch(/^malformed log at/)
  })

  it('checks the shape before the removed flag', () => {
    // Shape is checked first: a malformed removed log is reported as malformed.
    expect(normalizeLog(rawLog({ removed: true, blockHash: '0x' }))).toBe('malformed log at blockHash')
  })
})

describe('logFingerprint', () => {
  const base = normalized()

  it('is the same for two equal logs', () => {
    expect(logFingerprint(structuredClone(base))).toBe(logFingerprint(base))
  })

  it('is the same for the same log reported in different case by two providers', () => {
    const other = normalizeLog(
      rawLog({ transactionHash: (rawLog().transactionHash as string).toLowerCase(), address: (rawLog().address as string).toUpperCase().replace('0X', '0x') }),
    )
    expect(typeof other).toBe('object')
    expect(logFingerprint(other as ObservedLog)).toBe(logFingerprint(base))
  })

  it.each<[string, Partial<ObservedLog>]>([
    ['tx hash', { txHash: `0x${'9'.repeat(64)}` }],
    ['block number', { blockNumber: base.blockNumber + 1 }],
    ['block hash', { blockHash: `0x${'9'.repeat(64)}` }],
    ['log index', { logIndex: base.logIndex + 1 }],
    ['address', { address: `0x${'9'.repeat(40)}` }],
    ['one topic', { topics: [base.topics[0]!, base.topics[1]!, `0x${'9'.repeat(64)}`] }],
    ['topic order', { topics: [base.topics[0]!, base.topics[2]!, base.topics[1]!] }],
    ['a missing topic', { topics: base.topics.slice(0, 2) }],
    ['an extra topic', { topics: [...base.topics, `0x${'9'.repeat(64)}`] }],
    ['data', { data: `0x${'0'.repeat(63)}1` }],
    ['empty data', { data: '0x' }],
  ])('changes when the %s changes', (_, change) => {
    expect(logFingerprint({ ...base, ...change })).not.toBe(logFingerprint(base))
  })

  it('ignores the block timestamp, which some nodes include in logs and some do not', () => {
    const { blockTimestamp: _, ...without } = { ...base, blockTimestamp: 1 }
    expect(logFingerprint({ ...base, blockTimestamp: 1_700_000_001 })).toBe(logFingerprint({ ...base, blockTimestamp: 1_700_000_000 }))
    expect(logFingerprint({ ...base, blockTimestamp: 1_700_000_001 })).toBe(logFingerprint(without))
  })

  it('does not confuse block number and log index (12:3 vs 1:23)', () => {
    const a = logFingerprint({ ...base, blockNumber: 12, logIndex: 3 })
    const b = logFingerprint({ ...base, blockNumber: 1, logIndex: 23 })
    expect(a).not.toBe(b)
  })

  it('does not confuse where topics end and data begins', () => {
    const topic = `0x${'a'.repeat(64)}` as Hex
    const a = logFingerprint({ ...base, topics: [topic], data: '0x' })
    const b = logFingerprint({ ...base, topics: [], data: topic })
    expect(a).not.toBe(b)
  })

  it('contains the position and every hash, so two logs with equal fingerprints are equal', () => {
    const fingerprint = logFingerprint(base)
    for (const part of [base.txHash, base.blockHash, base.address, base.data, ...base.topics]) expect(fingerprint).toContain(part)
  })
})

describe('transferIdentity', () => {
  const base = normalized()

  it('ignores where the log sits and when: block, block hash, log index, timestamp', () => {
    const moved: ObservedLog = { ...base, blockNumber: base.blockNumber + 5, blockHash: `0x${'9'.repeat(64)}`, logIndex: base.logIndex + 3, blockTimestamp: 1_700_000_000 }
    expect(transferIdentity(moved)).toBe(transferIdentity(base))
  })

  it.each<[string, Partial<ObservedLog>]>([
    ['tx hash', { txHash: `0x${'9'.repeat(64)}` }],
    ['address', { address: `0x${'9'.repeat(40)}` }],
    ['recipient topic', { topics: [base.topics[0]!, base.topics[1]!, `0x${'9'.repeat(64)}`] }],
    ['topic order', { topics: [base.topics[0]!, base.topics[2]!, base.topics[1]!] }],
    ['data', { data: `0x${'0'.repeat(63)}1` }],
  ])('changes when the %s changes', (_, change) => {
    expect(transferIdentity({ ...base, ...change })).not.toBe(transferIdentity(base))
  })
})

describe('decodeTransfer', () => {
  const from = getAddress(`0x${'ab'.repeat(20)}`)
  const to = getAddress(`0x${'cd'.repeat(20)}`)
  const token = `0x${'3'.repeat(40)}` as const

  function transferLog(value: bigint, parties: { from: `0x${string}`; to: `0x${string}` } = { from, to }): ObservedLog {
    return {
      txHash: `0x${'1'.repeat(64)}`,
      blockNumber: 1,
      blockHash: `0x${'2'.repeat(64)}`,
      logIndex: 0,
      address: token,
      topics: encodeEventTopics({ abi: erc20Abi, eventName: 'Transfer', args: parties }) as Hex[],
      data: encodeAbiParameters([{ type: 'uint256' }], [value]),
    }
  }

  it('builds the expected topics for the test (sanity check of the fixture)', () => {
    const log = transferLog(1n)
    expect(log.topics).toHaveLength(3)
    expect(log.topics[0]).toBe(TRANSFER_TOPIC)
    expect(log.data).toHaveLength(66)
  })

  it('decodes a real ERC-20 Transfer to lower-case addresses and a decimal string', () => {
    expect(decodeTransfer(transferLog(1_000_000n))).toEqual({ from: from.toLowerCase(), to: to.toLowerCase(), value: '1000000' })
  })

  it('does not mix up from and to', () => {
    const decoded = decodeTransfer(transferLog(5n, { from: to, to: from }))
    expect(decoded?.from).toBe(to.toLowerCase())
    expect(decoded?.to).toBe(from.toLowerCase())
  })

  it('decodes a mint (from the zero address) and a burn (to the zero address)', () => {
    const zero = `0x${'0'.repeat(40)}` as const
    expect(decodeTransfer(transferLog(7n, { from: zero, to }))).toEqual({ from: zero, to: to.toLowerCase(), value: '7' })
    expect(decodeTransfer(transferLog(7n, { from, to: zero }))).toEqual({ from: from.toLowerCase(), to: zero, value: '7' })
  })

  it('decodes a zero-value transfer', () => {
    expect(decodeTransfer(transferLog(0n))?.value).toBe('0')
  })

  it('decodes the largest uint256 exactly, without losing precision', () => {
    expect(decodeTransfer(transferLog(maxUint256))?.value).toBe('115792089237316195423570985008687907853269984665640564039457584007913129639935')
  })

  it('decodes amounts beyond 2^53 exactly', () => {
    expect(decodeTransfer(transferLog(2n ** 53n + 1n))?.value).toBe('9007199254740993')
    expect(decodeTransfer(transferLog(10n ** 24n + 123n))?.value).toBe('1000000000000000000000123')
  })

  it('decodes a log normalised from a provider answer', () => {
    const decoded = decodeTransfer(normalized())
    expect(decoded).toEqual({ from: `0x${'ab'.repeat(20)}`, to: `0x${'cd'.repeat(20)}`, value: '1000000' })
  })

  it('is undefined for an ERC-721 Transfer (4 topics, empty data)', () => {
    const topics = encodeEventTopics({ abi: erc721Abi, eventName: 'Transfer', args: { from, to, tokenId: 1_000_000n } }) as Hex[]
    expect(topics).toHaveLength(4)
    expect(topics[0]).toBe(TRANSFER_TOPIC) // same selector as ERC-20
    expect(decodeTransfer({ ...transferLog(0n), topics, data: '0x' })).toBeUndefined()
  })

  it('is undefined for another event (Approval)', () => {
    const topics = encodeEventTopics({ abi: erc20Abi, eventName: 'Approval', args: { owner: from, spender: to } }) as Hex[]
    expect(decodeTransfer({ ...transferLog(5n), topics })).toBeUndefined()
  })

  it('is undefined without topics', () => {
    expect(decodeTransfer({ ...transferLog(5n), topics: [] })).toBeUndefined()
  })

  it('is undefined when the recipient topic is missing', () => {
    const log = transferLog(5n)
    expect(decodeTransfer({ ...log, topics: log.topics.slice(0, 2) })).toBeUndefined()
    expect(decodeTransfer({ ...log, topics: log.topics.slice(0, 1) })).toBeUndefined()
  })

  it('is undefined with empty data', () => {
    expect(decodeTransfer({ ...transferLog(5n), data: '0x' })).toBeUndefined()
  })

  it('is undefined with data shorter than one word', () => {
    const log = transferLog(5n)
    expect(decodeTransfer({ ...log, data: log.data.slice(0, -2) as Hex })).toBeUndefined()
  })

  it('does not throw on topics that are not valid hex (returns undefined instead)', () => {
    expect(() => decodeTransfer({ ...transferLog(5n), topics: ['0xzz' as Hex] })).not.toThrow()
    expect(decodeTransfer({ ...transferLog(5n), topics: ['0xzz' as Hex] })).toBeUndefined()
  })
})

describe('strictness found in review', () => {
  it.each([
    ['a fractional block timestamp', { blockTimestamp: 1.5 }],
    ['a negative block number', { blockNumber: -1n }],
    ['a fractional block number', { blockNumber: 1.5 }],
    ['a block number past 2^53', { blockNumber: 2n ** 60n }],
    ['odd-length data', { data: '0x123' }],
    ['five topics', { topics: Array(5).fill(`0x${'00'.repeat(32)}`) }],
  ])('normalizeLog returns a reason (does not throw) for %s', (_, overrides) => {
    expect(typeof normalizeLog(rawLog(overrides))).toBe('string')
  })

  it.each([
    ['a fourth topic', (log: ObservedLog) => ({ ...log, topics: [...log.topics, `0x${'00'.repeat(31)}01`] })],
    ['64 bytes of data', (log: ObservedLog) => ({ ...log, data: `${log.data}${'00'.repeat(32)}` })],
    ['dirty upper bytes in an address topic', (log: ObservedLog) => ({ ...log, topics: [log.topics[0]!, `0xff${log.topics[1]!.slice(4)}`, log.topics[2]!] })],
  ])('decodeTransfer refuses a Transfer with %s', (_, alter) => {
    const log = normalized()
    expect(decodeTransfer(log)).toBeDefined()
    expect(decodeTransfer(alter(log) as ObservedLog)).toBeUndefined()
  })
})
