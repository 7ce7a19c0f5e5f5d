import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { initialChainState } from '../../src/chain/chain-state.ts'
import { openLowdbStore } from '../../src/store/lowdb/lowdb-store.ts'
import { lowdbFiles } from '../support/lowdb-files.ts'
import { freePort } from '../support/anvil.ts'
import { runCli } from '../support/cli.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-status-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('settleproof status: where it looks', () => {
  it('resolves a relative storage.path against the configuration folder, not the working directory, and says plainly when no store is there', async () => {
    const configDir = join(dir, 'etc')
    const elsewhere = join(dir, 'elsewhere')
    await mkdir(configDir)
    await mkdir(elsewhere)
    const document = {
      chain: { id: 31337, start_block: 1 },
      providers: [{ name: 'primary', url: 'http://127.0.0.1:9/a' }, { name: 'secondary', url: 'http://127.0.0.1:9/b' }],
      quorum: 2,
      storage: { path: './data/store.json' },
      dlq: { path: './data/dlq.jsonl' },
      server: { port: await freePort() }, // nothing listens: status reads the store alone
      merchants: [{ id: 'acme', webhook_url: 'http://127.0.0.1:9/hook', webhook_secret: TEST_WEBHOOK_SECRET, api_key: 'acme-api-key-0123', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'] }],
    }
    await writeFile(join(configDir, 'skill.yaml'), stringify(document))
    const storePath = join(configDir, 'data', 'store.json')

    const before = await runCli(['status', '--config', '../etc/skill.yaml'], { cwd: elsewhere })
    expect(before.code).toBe(0)
    expect(before.stdout).toContain(`store        none at ${storePath} (no daemon has written there yet`)

    const store = await openLowdbStore(lowdbFiles(storePath))
    await store.transact((tx) => tx.putChainState({ ...initialChainState(31337, 1), checkpoint: 41 }))
    await store.close()

    const after = JSON.parse((await runCli(['status', '--json', '--config', '../etc/skill.yaml'], { cwd: elsewhere })).stdout) as { store: { path: string; found: boolean }; checkpoint: number }
    expect(after.store).toEqual({ path: storePath, found: true })
    expect(after.checkpoint).toBe(41)
  })
})
