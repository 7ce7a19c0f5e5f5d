import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { runCli } from '../support/cli.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-config-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const TOKEN = '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'
const ENV = { RPC_A: 'https://one.invalid/key-aaaa', RPC_B: 'https://two.invalid/key-bbbb', RPC_C: 'https://three.invalid/key-cccc', SECRET: TEST_WEBHOOK_SECRET }

function validDocument(): Record<string, any> {
  return {
    chain: { id: 8453, confirmations: 3, start_block: 100 },
    providers: [
      { name: 'primary', url: '${RPC_A}' },
      { name: 'secondary', url: '${RPC_B}' },
      { name: 'tertiary', url: '${RPC_C}' },
    ],
    quorum: 2,
    merchants: [
      { id: 'acme', webhook_url: 'https://acme.invalid/hook', webhook_secret: '${SECRET}', api_key: 'acme-key-123456', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: [TOKEN] },
      { id: 'globex', webhook_url: 'https://globex.invalid/hook', webhook_secret: '${SECRET}', api_key: 'globex-key-123456', receive_addresses: ['0x2222222222222222222222222222222222222222'], tokens: [TOKEN] },
    ],
  }
}

let fileCount = 0
async function checkConfig(document: unknown, env: Record<string, string | undefined> = ENV) {
  const path = join(dir, `config-${++fileCount}.yaml`)
  await writeFile(path, typeof document === 'string' ? document : stringify(document))
  return runCli(['check-config', '--config', path], { env: { ...env, SETTLEPROOF_CONFIG: undefined } })
}

describe('settleproof check-config (the real CLI in a child process)', () => {
  it('accepts a valid configuration: exit 0', async () => {
    const result = await checkConfig(validDocument())
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('valid (chain 8453, 3 providers, quorum 2, 2 merchants)')
  })

  const cases: [string, (doc: Record<string, any>) => void, string, Record<string, string | undefined>?][] = [
    ['an unknown key, with the nearest known one', (doc) => (doc.chain.confirmation = 3), 'chain.confirmation: unknown key (did you mean confirmations?)'],
    ['an unknown top-level key, with the nearest known one', (doc) => (doc.qorum = 2), 'qorum: unknown key (did you mean quorum?)'],
    ['an unknown key inside a list item', (doc) => (doc.merchants[1].webhook_urls = 'https://globex.invalid/hook'), 'merchants[1].webhook_urls: unknown key (did you mean webhook_url?)'],
    ['a required key left out: "required"', (doc) => delete doc.chain.id, 'chain.id: required'],
    ['a required key of a list item left out', (doc) => delete doc.merchants[0].api_key, 'merchants[0].api_key: required'],
    ['an unset variable', (doc) => (doc.merchants[1].api_key = '${GLOBEX_API_KEY}'), 'merchants[1].api_key: environment variable GLOBEX_API_KEY is not set'],
    ['a bad address', (doc) => (doc.merchants[0].receive_addresses = ['0x1234']), 'merchants[0].receive_addresses[0]: invalid address'],
    ['a bad checksum', (doc) => (doc.merchants[0].tokens = ['0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'.replace('fCD', 'fcD')]), 'merchants[0].tokens[0]: invalid address'],
    ['a bad URL', (doc) => (doc.merchants[1].webhook_url = 'not a url'), 'merchants[1].webhook_url: invalid URL'],
    ['a non-http provider URL', (doc) => (doc.providers[2].url = 'ftp://three.invalid'), 'providers[2].url: invalid URL'],
    ['a quorum larger than the providers', (doc) => (doc.quorum = 4), 'quorum: quorum 4 is larger than the 3 providers configured'],
    ['duplicate provider names', (doc) => (doc.providers[2].name = 'primary'), 'providers[2].name: duplicate provider name'],
    ['a missing required section', (doc) => delete doc.merchants, 'merchants: required'],
    ['a bad webhook secret', (doc) => (doc.merchants[0].webhook_secret = 'plain-secret'), 'merchants[0].webhook_secret: invalid webhook secret'],
    ['zero confirmations', (doc) => (doc.chain.confirmations = 0), 'chain.confirmations: '],
  ]
  for (const [label, mutate, expected] of cases) {
    it(`rejects ${label}: exit 78 and the problem with its path`, async () => {
      const document = validDocument()
      mutate(document)
      const result = await checkConfig(document)
      expect(result.code).toBe(78)
      expect(result.stderr).toContain(expected)
    })
  }

  it('lists every problem, not just the first', async () => {
    const document = validDocument()
    document.quorum = 5
    document.providers[1].name = 'primary'
    document.merchants[0].webhook_url = 'nope'
    document.chain.colour = 'blue'
    const result = await checkConfig(document)
    expect(result.code).toBe(78)
    for (const expected of ['quorum: quorum 5', 'providers[1].name: duplicate', 'merchants[0].webhook_url: invalid URL', 'chain.colour: unknown key']) expect(result.stderr).toContain(expected)
  })

  it('never prints a secret or a provider URL in its messages', async () => {
    const document = validDocument()
    document.providers[0].url = 'https://user:hunter2@one.invalid/key-aaaa'
    document.providers[2].url = 'https://user:hunter2@one.invalid/key-aaaa'
    document.merchants[0].api_key = 'short'
    const result = await checkConfig(document)
    expect(result.code).toBe(78)
    expect(result.stderr).toContain('providers[2].url: duplicate provider URL')
    for (const secret of ['key-aaaa', 'hunter2', 'short', TEST_WEBHOOK_SECRET]) expect(result.stderr).not.toContain(secret)
  })

  it('accepts storage on PostgreSQL, and the lowdb form with or without its driver', async () => {
    for (const storage of [
      { driver: 'postgres', url: 'postgres://settleproof:hunter2@db.invalid:5432/settleproof' },
      { driver: 'postgres', url: 'postgresql://db.invalid/settleproof', pool_size: 20 },
      { driver: 'lowdb', path: './data/store.json' },
      { path: './data/store.json' },
    ]) {
      const result = await checkConfig({ ...validDocument(), storage })
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
    }
  })

  it('rejects a bad PostgreSQL storage section without echoing the database URL', async () => {
    const url = 'mysql://settleproof:hunter2@db.invalid:5432/settleproof'
    const badUrl = await checkConfig({ ...validDocument(), storage: { driver: 'postgres', url } })
    expect(badUrl.code).toBe(78)
    expect(badUrl.stderr).toContain('storage.url: invalid database URL: expected a postgres:// or postgresql:// URL')
    for (const part of ['hunter2', 'db.invalid', url]) expect(badUrl.stderr).not.toContain(part)
    const unparsable = await checkConfig({ ...validDocument(), storage: { driver: 'postgres', url: 'postgres://settleproof:hunter2@[db.invalid' } })
    expect(unparsable.code).toBe(78)
    expect(unparsable.stderr).toContain('storage.url: invalid database URL')
    expect(unparsable.stderr).not.toContain('hunter2')
    const pool = await checkConfig({ ...validDocument(), storage: { driver: 'postgres', url: 'postgres://db.invalid/settleproof', pool_size: 0 } })
    expect(pool.code).toBe(78)
    expect(pool.stderr).toContain('storage.pool_size: ')
    const mixed = await checkConfig({ ...validDocument(), storage: { driver: 'postgres', url: 'postgres://db.invalid/settleproof', path: './data/store.json' } })
    expect(mixed.code).toBe(78)
    expect(mixed.stderr).toContain('storage.path: unknown key')
    const missing = await checkConfig({ ...validDocument(), storage: { driver: 'postgres' } })
    expect(missing.code).toBe(78)
    expect(missing.stderr).toContain('storage.url: required')
  })

  it('reports YAML errors with line, column and the key: exit 78', async () => {
    const duplicate = await checkConfig('chain:\n  id: 8453\n  confirmations: 3\n  id: 1\nquorum: 2\n')
    expect(duplicate.code).toBe(78)
    expect(duplicate.stderr).toContain('chain.id: line 4, column 3: duplicate key')
    const inList = await checkConfig(stringify(validDocument()).replace('  - id: globex\n', '  - id: globex\n    id: other\n'))
    expect(inList.stderr).toMatch(/merchants\[1\]\.id: line \d+, column 5: duplicate key/)
    const unclosed = await checkConfig('chain: {id: 1}\nproviders: [unclosed\n')
    expect(unclosed.code).toBe(78)
    expect(unclosed.stderr).toMatch(/line \d+, column \d+: YAML syntax error \([A-Z_]+\)/)
  })

  it('reports a missing file and a non-mapping document with exit 78', async () => {
    expect((await checkConfig('- just\n- a list\n')).code).toBe(78)
    const missing = await runCli(['check-config', '--config', join(dir, 'nope.yaml')])
    expect(missing.code).toBe(78)
    expect(missing.stderr).toContain('file not found')
  })

  it('reads variables from .env beside the file, the environment winning', async () => {
    const sub = await mkdtemp(join(dir, 'dotenv-'))
    await writeFile(join(sub, '.env'), `RPC_A=${ENV.RPC_A}\nRPC_B=${ENV.RPC_B}\nRPC_C=${ENV.RPC_C}\nSECRET=not-a-whsec\n`)
    const path = join(sub, 'skill.yaml')
    await writeFile(path, stringify(validDocument()))
    const fromDotEnvOnly = await runCli(['check-config', '--config', path], { env: { SECRET: undefined } })
    expect(fromDotEnvOnly.code).toBe(78)
    expect(fromDotEnvOnly.stderr).toContain('merchants[0].webhook_secret: invalid webhook secret')
    const environmentWins = await runCli(['check-config', '--config', path], { env: { SECRET: TEST_WEBHOOK_SECRET } })
    expect(environmentWins.code).toBe(0)
  })

  it('finds the file through $SETTLEPROOF_CONFIG when --config is not given', async () => {
    const path = join(dir, 'via-env.yaml')
    await writeFile(path, stringify(validDocument()))
    expect((await runCli(['check-config'], { env: { ...ENV, SETTLEPROOF_CONFIG: path }, cwd: dir })).code).toBe(0)
  })

  it('accepts the shipped skill.yaml with the variables of .env.example, warning (by path, never by value) about every example value left in', async () => {
    const env = parseEnv(await readFile(new URL('../../.env.example', import.meta.url), 'utf8')) as Record<string, string>
    const result = await runCli(['check-config', '--config', new URL('../../skill.yaml', import.meta.url).pathname], { env })
    expect(result.code).toBe(0)
    const warnings = result.stderr.trim().split('\n')
    expect(warnings).toEqual([
      'warning: providers[0].url: still the example value from .env.example: set your own',
      'warning: providers[1].url: still the example value from .env.example: set your own',
      'warning: providers[2].url: still the example value from .env.example: set your own',
      'warning: merchants[0].webhook_url: still the example value from .env.example: set your own',
      'warning: merchants[0].webhook_secret[0]: still the example value from .env.example: set your own',
      'warning: merchants[0].api_key: still the example value from .env.example: set your own',
    ])
    for (const value of Object.values(env)) expect(result.stderr).not.toContain(value)
    // A placeholder that is not copied verbatim is caught by its marker.
    const edited = await checkConfig(validDocument(), { ...ENV, RPC_B: 'https://two.invalid/v2/REPLACE_WITH_KEY' })
    expect(edited.code).toBe(0)
    expect(edited.stderr).toBe('warning: providers[1].url: still a placeholder from the examples: set the real value\n')
  })

  it('makes `run` refuse an invalid configuration with the same messages and exit 78', async () => {
    const document = validDocument()
    document.quorum = 4
    const path = join(dir, 'run-invalid.yaml')
    await writeFile(path, stringify(document))
    const result = await runCli(['run', '--config', path], { env: ENV })
    expect(result.code).toBe(78)
    expect(result.stderr).toContain('quorum: quorum 4 is larger than the 3 providers configured')
  })
})

describe('the command line', () => {
  it('answers --help for every command with exit 0, and a usage error with exit 2', async () => {
    for (const command of ['run', 'check-config', 'demo']) {
      const help = await runCli([command, '--help'])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: settleproof ${command}`)
    }
    expect((await runCli(['--help'])).code).toBe(0)
    expect((await runCli(['frobnicate'])).code).toBe(2)
    expect((await runCli(['check-config', '--nope'])).code).toBe(2)
    expect((await runCli([])).code).toBe(2)
  })
})
