import { describe, expect, it } from 'vitest'
import { interpolateEnv } from '../../src/config/interpolate.ts'

describe('interpolateEnv', () => {
  it('replaces a reference that is the whole string', () => {
    expect(interpolateEnv({ api_key: '${API_KEY}' }, { API_KEY: 'k-123' })).toEqual({ value: { api_key: 'k-123' }, issues: [] })
  })

  it('replaces a reference inside a longer string', () => {
    const { value } = interpolateEnv({ url: 'https://eth.example/v2/${KEY}/rpc' }, { KEY: 'abc' })
    expect(value).toEqual({ url: 'https://eth.example/v2/abc/rpc' })
  })

  it('replaces several references in one string, including the same one twice', () => {
    const { value, issues } = interpolateEnv({ url: '${SCHEME}://${HOST}:${PORT}/${HOST}' }, { SCHEME: 'https', HOST: 'node.example', PORT: '8545' })
    expect(value).toEqual({ url: 'https://node.example:8545/node.example' })
    expect(issues).toEqual([])
  })

  it('replaces adjacent references', () => {
    expect(interpolateEnv('${A}${B}', { A: 'x', B: 'y' }).value).toBe('xy')
  })

  it('replaces references in nested objects and arrays', () => {
    const document = {
      chain: { providers: [{ name: 'infura', url: 'https://mainnet.infura.io/v3/${INFURA}' }, { name: 'alchemy', url: 'https://eth.g.alchemy.com/v2/${ALCHEMY}' }] },
      merchants: [{ id: 'm1', addresses: ['${ADDR_1}', '0xabc'] }],
      deep: [[['${A}']]],
    }
    const { value, issues } = interpolateEnv(document, { INFURA: 'i', ALCHEMY: 'al', ADDR_1: '0x111', A: 'a' })
    expect(issues).toEqual([])
    expect(value).toEqual({
      chain: { providers: [{ name: 'infura', url: 'https://mainnet.infura.io/v3/i' }, { name: 'alchemy', url: 'https://eth.g.alchemy.com/v2/al' }] },
      merchants: [{ id: 'm1', addresses: ['0x111', '0xabc'] }],
      deep: [[['a']]],
    })
  })

  it('interpolates a top-level string or array', () => {
    expect(interpolateEnv('${A}', { A: 'x' })).toEqual({ value: 'x', issues: [] })
    expect(interpolateEnv(['${A}', 1], { A: 'x' })).toEqual({ value: ['x', 1], issues: [] })
  })

  it('does not modify the document it is given', () => {
    const document = { a: '${A}', list: ['${A}'] }
    interpolateEnv(document, { A: 'x' })
    expect(document).toEqual({ a: '${A}', list: ['${A}'] })
  })

  it('leaves non-string values untouched', () => {
    const document = { n: 42, f: 1.5, neg: -1, yes: true, no: false, nothing: null, list: [0, false, null], empty: {}, none: [] }
    const { value, issues } = interpolateEnv(document, { A: 'x' })
    expect(value).toEqual(document)
    expect(issues).toEqual([])
  })

  it('leaves an undefined property value undefined', () => {
    const { value } = interpolateEnv({ a: undefined }, {})
    expect(value).toEqual({ a: undefined })
    expect(Object.hasOwn(value as object, 'a')).toBe(true)
  })

  it('leaves strings without references untouched', () => {
    const document = { a: 'plain', b: '$A', c: '${}', d: '${1ABC}', e: '${A-B}', f: '$ {A}', g: '{A}', h: '${A', i: '' }
    const { value, issues } = interpolateEnv(document, { A: 'x', '1ABC': 'y', 'A-B': 'z' })
    expect(value).toEqual(document)
    expect(issues).toEqual([])
  })

  it('accepts names with underscores, digits after the first character, and lower case', () => {
    const { value } = interpolateEnv(['${_X}', '${A1_B2}', '${lower}'], { _X: '1', A1_B2: '2', lower: '3' })
    expect(value).toEqual(['1', '2', '3'])
  })

  it('is case sensitive in variable names', () => {
    const { issues } = interpolateEnv({ a: '${api_key}' }, { API_KEY: 'x' })
    expect(issues).toHaveLength(1)
    expect(issues[0]!.message).toContain('api_key')
  })

  it('does not interpolate keys', () => {
    const { value, issues } = interpolateEnv({ '${KEY}': '${VALUE}', nested: { '${UNSET}': 1 } }, { KEY: 'k', VALUE: 'v' })
    expect(value).toEqual({ '${KEY}': 'v', nested: { '${UNSET}': 1 } })
    expect(issues).toEqual([])
  })

  it('counts an empty-string variable as set', () => {
    expect(interpolateEnv({ prefix: 'a${EMPTY}b' }, { EMPTY: '' })).toEqual({ value: { prefix: 'ab' }, issues: [] })
  })

  it('inserts values literally, without $-replacement patterns', () => {
    // String.prototype.replace would read these specially in a replacement string.
    const { value } = interpolateEnv({ secret: 'x-${S}-y' }, { S: "$&$1$$$'$`" })
    expect(value).toEqual({ secret: "x-$&$1$$$'$`-y" })
  })

  it('does not interpolate references that a value brings in (one pass)', () => {
    const { value, issues } = interpolateEnv({ a: '${OUTER}' }, { OUTER: '${INNER}', INNER: 'nope' })
    expect(value).toEqual({ a: '${INNER}' })
    expect(issues).toEqual([])
  })

  describe('an unset variable', () => {
    it('is an issue located by the path where it was used', () => {
      const document = { merchants: [{ id: 'm0', api_key: '${KEY_0}' }, { id: 'm1', api_key: '${KEY_1}' }] }
      const { issues } = interpolateEnv(document, { KEY_0: 'zero' })
      expect(issues).toHaveLength(1)
      expect(issues[0]!.path).toBe('merchants[1].api_key')
      expect(issues[0]!.message).toContain('KEY_1')
    })

    it('formats nested array and object paths the way operators write them', () => {
      const document = { chain: { providers: [{ url: 'ok' }, { headers: { auth: ['ok', 'Bearer ${TOKEN}'] } }] }, list: [[0, '${X}']] }
      const { issues } = interpolateEnv(document, {})
      expect(issues.map((i) => i.path)).toEqual(['chain.providers[1].headers.auth[1]', 'list[0][1]'])
    })

    it('has an empty path at the top level', () => {
      const { issues } = interpolateEnv('${X}', {})
      expect(issues).toHaveLength(1)
      expect(issues[0]!.path).toBe('')
    })

    it('has an index-only path in a top-level array', () => {
      expect(interpolateEnv(['ok', '${X}'], {}).issues.map((i) => i.path)).toEqual(['[1]'])
    })

    it('counts a variable whose value is undefined as unset', () => {
      expect(interpolateEnv({ a: '${A}' }, { A: undefined }).issues).toHaveLength(1)
    })

    it('is left as written in the value', () => {
      const { value } = interpolateEnv({ url: 'https://x/${MISSING}/y' }, {})
      expect(value).toEqual({ url: 'https://x/${MISSING}/y' })
    })

    it('still lets the set references in the same string be replaced', () => {
      const { value, issues } = interpolateEnv({ url: '${HOST}/${MISSING}' }, { HOST: 'h' })
      expect(value).toEqual({ url: 'h/${MISSING}' })
      expect(issues).toHaveLength(1)
      expect(issues[0]!.message).toContain('MISSING')
      expect(issues[0]!.message).not.toContain('HOST')
    })

    it('is reported once per use: every unset variable, everywhere', () => {
      const { issues } = interpolateEnv({ a: '${X}-${Y}', b: ['${X}'] }, {})
      expect(issues).toHaveLength(3)
      expect(issues.map((i) => [i.path, /\bX\b/.test(i.message) ? 'X' : 'Y'])).toEqual([
        ['a', 'X'],
        ['a', 'Y'],
        ['b[0]', 'X'],
      ])
    })

    it('never repeats a value in the issue: not the other variables, not the surrounding string', () => {
      const secret = 'sk_live_SUPERSECRET'
      const document = { webhook_url: `https://hooks.example/${'${TOKEN}'}?sig=${'${SIG}'}&literal=hunter2` }
      const env = { TOKEN: secret, NEARLY_SIG: 'other-secret' }
      const { issues } = interpolateEnv(document, env)
      expect(issues).toHaveLength(1)
      const text = JSON.stringify(issues)
      expect(text).toContain('SIG')
      for (const leaked of [secret, 'other-secret', 'hunter2', 'hooks.example', 'https://']) expect(text).not.toContain(leaked)
    })

    it('names the variable exactly, not a prefix or a neighbour', () => {
      const { issues } = interpolateEnv({ a: '${DB_PASSWORD}' }, { DB: 'x', DB_PASSWORD_OLD: 'y' })
      expect(issues).toHaveLength(1)
      expect(issues[0]!.message).toMatch(/\bDB_PASSWORD\b/)
      expect(issues[0]!.message).not.toContain('DB_PASSWORD_OLD')
    })
  })
})

describe('inherited properties of the environment object (found in review)', () => {
  it.each(['toString', 'constructor', 'hasOwnProperty', '__proto__'])('${%s} is unset, not Object.prototype.%s', (name) => {
    const result = interpolateEnv({ a: `\${${name}}` }, {})
    expect(result.issues).toEqual([{ path: 'a', message: expect.stringContaining(name) }])
  })
})
