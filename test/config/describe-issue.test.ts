import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { describeIssue, describeUnknownKey, knownKeysAt } from '../../src/config/describe-issue.ts'
import { configSchema } from '../../src/config/schema.ts'

describe('knownKeysAt (walks the real configuration schema)', () => {
  const cases: [PropertyKey[], string[]][] = [
    [['chain'], ['id', 'confirmations', 'start_block', 'poll_interval_ms', 'max_block_range', 'reorg_window']],
    [['breaker'], ['failure_threshold', 'success_threshold', 'open_ms']],
    [['merchants', 3], ['id', 'webhook_url', 'webhook_secret', 'api_key', 'receive_addresses', 'tokens']],
    [['providers', 0], ['name', 'url']],
    [['chain', 'id'], []],
    [['nope'], []],
    [['merchants', 'x'], []],
  ]
  for (const [path, keys] of cases) it(`${path.join('.') || '(root)'} → ${keys.join(', ') || 'none'}`, () => expect(knownKeysAt(configSchema, path)).toEqual(keys))
  it('knows every top-level key', () => expect(knownKeysAt(configSchema, [])).toContain('quorum'))
})

describe('describeIssue', () => {
  const schema = z.strictObject({ n: z.int().min(1).max(9), s: z.string().min(1), list: z.array(z.string()).min(2), level: z.enum(['a', 'b']) })
  const issueFor = (value: unknown) => schema.safeParse(value, { reportInput: true }).error!.issues[0]!
  const cases: [string, unknown, string][] = [
    ['a missing key', { s: 'x', list: ['a', 'b'], level: 'a' }, 'required'],
    ['a wrong type', { n: 'five', s: 'x', list: ['a', 'b'], level: 'a' }, 'expected a number'],
    ['too small a number', { n: 0, s: 'x', list: ['a', 'b'], level: 'a' }, 'must be at least 1'],
    ['too big a number', { n: 10, s: 'x', list: ['a', 'b'], level: 'a' }, 'must be at most 9'],
    ['an empty string', { n: 1, s: '', list: ['a', 'b'], level: 'a' }, 'must not be empty'],
    ['too short a list', { n: 1, s: 'x', list: ['a'], level: 'a' }, 'needs at least 2 entries'],
    ['a value not in the enum', { n: 1, s: 'x', list: ['a', 'b'], level: 'c' }, 'must be one of a, b'],
  ]
  for (const [label, value, expected] of cases) it(`${label} → ${expected}`, () => expect(describeIssue(issueFor(value))).toBe(expected))
  it('passes the message of a refinement through and never prints the value', () => {
    const refined = z.string().refine((v) => v.startsWith('whsec_'), { error: 'invalid webhook secret' })
    const issue = refined.safeParse('hunter2-secret', { reportInput: true }).error!.issues[0]!
    expect(describeIssue(issue)).toBe('invalid webhook secret')
  })
})

describe('describeUnknownKey', () => {
  it('suggests the nearest key of the object the key is in, or nothing', () => {
    expect(describeUnknownKey('confirmation', ['chain'], configSchema)).toBe('unknown key (did you mean confirmations?)')
    expect(describeUnknownKey('webhook_urls', ['merchants', 1], configSchema)).toBe('unknown key (did you mean webhook_url?)')
    expect(describeUnknownKey('colour', ['chain'], configSchema)).toBe('unknown key')
  })
})
