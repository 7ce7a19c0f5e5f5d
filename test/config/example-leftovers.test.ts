import { describe, expect, it } from 'vitest'
import { findExampleLeftovers, readExampleValues } from '../../src/config/example-leftovers.ts'

describe('readExampleValues (the shipped .env.example)', () => {
  it('reads the example values an operator must replace, the public webhook secret among them', () => {
    const values = readExampleValues()
    expect(values.some((value) => value.startsWith('whsec_'))).toBe(true)
    expect(values.filter((value) => value.includes('REPLACE_WITH_KEY'))).toHaveLength(3)
  })
  it('is empty, not an error, where the file is not installed', () => expect(readExampleValues('/nonexistent/.env.example')).toEqual([]))
})

describe('findExampleLeftovers', () => {
  const examples = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'https://acme.invalid/settleproof/webhooks']
  const cases: [string, unknown, { path: string; message: string }[]][] = [
    ['nothing left', { a: 'real', b: ['x', { c: 'https://rpc.example/v1/abc' }] }, []],
    ['a copied example value, nested in a list', { merchants: [{ webhook_secret: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }] }, [{ path: 'merchants[0].webhook_secret[0]', message: 'still the example value from .env.example: set your own' }]],
    ['a placeholder marker in an edited value', { providers: [{ url: 'https://x/REPLACE_WITH_KEY/2' }] }, [{ path: 'providers[0].url', message: 'still a placeholder from the examples: set the real value' }]],
    ['a lower-case marker', { api_key: 'replace-with-a-long-random-token' }, [{ path: 'api_key', message: 'still a placeholder from the examples: set the real value' }]],
    ['numbers and booleans are ignored', { port: 9000, on: true, none: null }, []],
  ]
  for (const [label, config, expected] of cases) it(label, () => expect(findExampleLeftovers(config, examples)).toEqual(expected))
})
