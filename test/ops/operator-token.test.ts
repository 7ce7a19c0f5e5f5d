import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/errors.ts'
import { parseConfig } from '../../src/config/load.ts'
import { operatorTokenCheck } from '../../src/ops/operator-token.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'

const TOKEN = 'ops-token-7Hq2mX8vR4kL'

describe('operatorTokenCheck: the Authorization header against server.operator_token', () => {
  const check = operatorTokenCheck(TOKEN)
  const rows: [string, string | undefined, boolean][] = [
    ['Bearer and the token', `Bearer ${TOKEN}`, true],
    ['the scheme in any case, spaces around the token', `bearer   ${TOKEN}  `, true],
    ['no header', undefined, false],
    ['an empty header', '', false],
    ['the token without a scheme', TOKEN, false],
    ['another scheme', `Basic ${TOKEN}`, false],
    ['Bearer alone', 'Bearer ', false],
    ['one character off', `Bearer ${TOKEN.slice(0, -1)}M`, false],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`, false],
    ['the token and more', `Bearer ${TOKEN}x`, false],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`, false],
    ['the token\'s hash is no token', 'Bearer e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', false],
  ]
  for (const [name, header, expected] of rows) it(`${name}: ${expected ? 'accepted' : 'refused'}`, () => expect(check(header)).toBe(expected))
})

describe('server.operator_token in the configuration', () => {
  const document = (server: Record<string, unknown>) => ({
    chain: { id: 1 },
    providers: [{ name: 'primary', url: 'http://127.0.0.1:9/a' }],
    quorum: 1,
    server,
    merchants: [{ id: 'acme', webhook_url: 'http://127.0.0.1:9/h', webhook_secret: TEST_WEBHOOK_SECRET, api_key: 'acme-api-key-0123', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'] }],
  })

  it('has no default: without it, no console', () => {
    expect(parseConfig(document({})).server.operator_token).toBeUndefined()
  })

  it('is taken from the environment like every secret', () => {
    expect(parseConfig(document({ operator_token: '${OPS_TOKEN}' }), { OPS_TOKEN: TOKEN }).server.operator_token).toBe(TOKEN)
  })

  it('refuses a short token or one with white space, naming the path and never the value', () => {
    for (const token of ['short-token', 'sixteen chars ok', '']) {
      const error = (() => {
        try {
          parseConfig(document({ operator_token: token }))
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ConfigError)
      const issues = (error as ConfigError).issues
      expect(issues).toEqual([{ path: 'server.operator_token', message: expect.stringContaining('at least 16 characters') }])
      if (token !== '') expect((error as ConfigError).describe()).not.toContain(token)
    }
  })
})
