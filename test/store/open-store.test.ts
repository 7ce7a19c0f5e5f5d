import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initialChainState } from '../../src/chain/chain-state.ts'
import { parseConfig } from '../../src/config/load.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import { openDeadLetters, openStore, readStoreSnapshot, storeLocation } from '../../src/store/open-store.ts'
import { freePort } from '../support/anvil.ts'
import { testDeadLetter } from '../support/dead-letter.ts'
import { createTestDatabase } from '../support/postgres.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-open-store-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const configWith = (storage: unknown) =>
  parseConfig({
    chain: { id: 7 },
    providers: [{ name: 'primary', url: 'http://127.0.0.1:9/' }],
    quorum: 1,
    storage,
    dlq: { path: join(dir, 'letters', 'dlq.jsonl') },
    merchants: [{ id: 'acme', webhook_url: 'http://127.0.0.1:9/hook', webhook_secret: 'whsec_c2V0dGxlcHJvb2YtdGVzdC1zZWNyZXQtMDEyMw==', api_key: 'acme-api-key-0123', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'] }],
  })

describe('opening the store storage.driver names', () => {
  it('lowdb (also when no driver is named): the store at storage.path, its dead letters at dlq.path, its snapshot without the writer lock', async () => {
    for (const storage of [{ driver: 'lowdb', path: join(dir, 'a', 'store.json') }, { path: join(dir, 'b', 'store.json') }]) {
      const config = configWith(storage)
      expect(await readStoreSnapshot(config)).toBeNull()
      const store = await openStore(config, { logger: silentLogger() })
      try {
        expect(store.location).toBe(storage.path)
        await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: 42 }))
        // The daemon holds the store: status still reads it.
        expect(await readStoreSnapshot(config)).toMatchObject({ chain: { checkpoint: 42 }, counts: { invoices: { open: 0 } } })
        await store.deadLetters.append([testDeadLetter('wh_a', '2030-01-01T00:00:00.000Z')])
        const deadLetters = await openDeadLetters(config)
        expect((await deadLetters.list()).map((l) => l.webhook_id)).toEqual(['wh_a'])
        await deadLetters.close()
      } finally {
        await store.close()
      }
      expect(await readFile(config.dlq.path, 'utf8')).toContain('"webhook_id":"wh_a"')
      expect(storeLocation(config.storage)).toBe(storage.path)
    }
  })

  it('postgres: the store in the database storage.url names, its dead letters in the same database, its snapshot read without migrating; never the password', async () => {
    const db = await createTestDatabase()
    const config = configWith({ driver: 'postgres', url: db.url })
    expect(await readStoreSnapshot(config)).toBeNull()
    const store = await openStore(config, { logger: silentLogger() })
    try {
      expect(store.location).toBe(storeLocation(config.storage))
      expect(store.location).not.toContain(db.password)
      await store.transact((tx) => tx.putChainState({ ...initialChainState(7, 0), checkpoint: 42 }))
      expect(await readStoreSnapshot(config)).toMatchObject({ chain: { checkpoint: 42 }, counts: { invoices: { open: 0 } } })
      await store.deadLetters.append([testDeadLetter('wh_pg', '2030-01-01T00:00:00.000Z')])
      const deadLetters = await openDeadLetters(config)
      expect((await deadLetters.list()).map((l) => l.webhook_id)).toEqual(['wh_pg'])
      await deadLetters.close()
    } finally {
      await store.close()
    }
    expect(await readFile(config.dlq.path, 'utf8')).toContain('"webhook_id":"wh_pg"') // the local audit trail
    const url = new URL(db.url)
    expect(storeLocation(config.storage)).toBe(`postgres://${url.host}/${db.name}`)
  })

  it('postgres: a database nobody listens for is unavailable, never named with its password', async () => {
    const url = `postgres://settleproof:hunter2-secret@127.0.0.1:${await freePort()}/settleproof`
    const config = configWith({ driver: 'postgres', url })
    for (const opening of [() => openStore(config, { logger: silentLogger() }), () => openDeadLetters(config), () => readStoreSnapshot(config)]) {
      const error = await opening().then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StoreUnavailableError)
      expect(String((error as Error).message)).not.toContain('hunter2-secret')
    }
  })
})
