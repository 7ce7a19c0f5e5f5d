import type pg from 'pg'
import { MIGRATION_LOCK } from './advisory-locks.ts'
import { StoreSchemaTooNewError } from './errors.ts'

/** One schema change, applied once, in order, inside the migrating transaction. */
export type Migration = { version: number; description: string; sql: string }

/** The pending outbox states, as every partial index and hot query names them (the planner matches them literally). */
export const PENDING_STATES_SQL = `('queued', 'in_flight', 'retrying')`

/**
 * Version 1. Each record is kept whole as `jsonb` (`body`: the value the seam stores, read back
 * as it was written); the columns the queries and constraints need are GENERATED from it, so
 * they can never disagree with it, even when someone writes SQL by hand.
 *
 * Invariants the database enforces, not only the code:
 * - one row per invoice, per outbox event (`webhook-id`), per transfer identity (primary keys);
 * - one invoice settled per transfer (tx hash + log index): a UNIQUE index on settled rows;
 * - one settlement per invoice: a settled invoice's settlement is replaced only once it was
 *   reverted (it is then in `reverted`), enforced by the `invoices_settled_once` trigger;
 * - `status` and `state` within their sets; settled ⇔ has a settlement.
 *
 * Hot queries touch pending rows only: open invoices (matching a transfer, expiry counts) and
 * pending outbox rows (due, listed, queue depth) have partial indexes, so their cost does not
 * grow with settled history. Totals of final records (settled invoices, delivered and dead
 * events) are kept by triggers as delta rows in `final_counts`, in the writing transaction:
 * concurrent writers only insert (no hot row to fight over); `compact` folds them into one row.
 */
const VERSION_1 = `
-- Epoch milliseconds, as JavaScript's Date.parse gives them. IMMUTABLE holds for the strings the
-- store writes: ISO-8601 with their zone (toISOString). Times in ms are double precision, like a
-- JavaScript number (an injected clock may give fractions).
CREATE FUNCTION settleproof_epoch_ms(iso text) RETURNS double precision
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT floor(extract(epoch FROM iso::timestamptz) * 1000)::double precision $$;

CREATE FUNCTION settleproof_last_block(transfers jsonb) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT max((t->>'block')::bigint) FROM jsonb_array_elements(transfers) AS t $$;

CREATE TABLE chain_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  state jsonb NOT NULL
);

CREATE TABLE invoices (
  body jsonb NOT NULL,
  uuid text COLLATE "C" GENERATED ALWAYS AS (body->>'uuid') STORED PRIMARY KEY,
  merchant_id text COLLATE "C" GENERATED ALWAYS AS (body->>'merchantId') STORED NOT NULL,
  token text COLLATE "C" GENERATED ALWAYS AS (body->>'token') STORED NOT NULL,
  amount text COLLATE "C" GENERATED ALWAYS AS (body->>'amount') STORED NOT NULL,
  status text COLLATE "C" GENERATED ALWAYS AS (body->>'status') STORED NOT NULL CHECK (status IN ('open', 'settled')),
  created_at text COLLATE "C" GENERATED ALWAYS AS (body->>'createdAt') STORED NOT NULL,
  expires_at_ms double precision GENERATED ALWAYS AS (settleproof_epoch_ms(body->>'expiresAt')) STORED,
  settled_tx_hash text COLLATE "C" GENERATED ALWAYS AS (body->'settlement'->>'txHash') STORED,
  settled_log_index integer GENERATED ALWAYS AS ((body->'settlement'->>'logIndex')::integer) STORED,
  CONSTRAINT invoices_settled_has_settlement CHECK ((status = 'settled') = (settled_tx_hash IS NOT NULL AND settled_log_index IS NOT NULL))
);
-- One invoice per transfer: no two settled invoices share a tx hash and log index.
CREATE UNIQUE INDEX invoices_one_per_transfer ON invoices (settled_tx_hash, settled_log_index) WHERE status = 'settled';
-- Matching a transfer: a merchant's open invoices for a token and amount, oldest first.
CREATE INDEX invoices_open_by_payment ON invoices (merchant_id, token, amount, created_at, uuid) WHERE status = 'open';
-- Counting open and expired invoices.
CREATE INDEX invoices_open_by_expiry ON invoices (expires_at_ms) WHERE status = 'open';
-- GET /v1/invoices: a merchant's invoices newest first (a page is a range of this index); open ones alone.
CREATE INDEX invoices_by_merchant ON invoices (merchant_id, created_at DESC, uuid DESC);
CREATE INDEX invoices_open_by_merchant ON invoices (merchant_id, created_at DESC, uuid DESC) WHERE status = 'open';

CREATE FUNCTION settleproof_refuse_second_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'invoice % is already settled (tx % log %): it settles again only after that settlement is reverted', NEW.uuid, OLD.settled_tx_hash, OLD.settled_log_index
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'invoices_settled_once';
END $$;
CREATE TRIGGER invoices_settled_once AFTER UPDATE ON invoices FOR EACH ROW
  WHEN (OLD.status = 'settled' AND NEW.status = 'settled'
    AND (OLD.settled_tx_hash, OLD.settled_log_index) IS DISTINCT FROM (NEW.settled_tx_hash, NEW.settled_log_index)
    AND NOT coalesce(NEW.body->'reverted' @> jsonb_build_array(OLD.body->'settlement'), false))
  EXECUTE FUNCTION settleproof_refuse_second_settlement();

CREATE TABLE outbox (
  body jsonb NOT NULL,
  webhook_id text COLLATE "C" GENERATED ALWAYS AS (body->>'webhookId') STORED PRIMARY KEY,
  merchant_id text COLLATE "C" GENERATED ALWAYS AS (body->>'merchantId') STORED NOT NULL,
  state text COLLATE "C" GENERATED ALWAYS AS (body->>'state') STORED NOT NULL CHECK (state IN ('queued', 'in_flight', 'retrying', 'delivered', 'dead')),
  next_attempt_at double precision GENERATED ALWAYS AS ((body->>'nextAttemptAt')::double precision) STORED NOT NULL,
  created_at text COLLATE "C" GENERATED ALWAYS AS (body->>'createdAt') STORED NOT NULL
);
-- Due and pending entries, oldest first; counts per merchant and state from the index alone.
CREATE INDEX outbox_pending ON outbox (created_at, webhook_id) INCLUDE (state, merchant_id, next_attempt_at) WHERE state IN ${PENDING_STATES_SQL};
CREATE INDEX outbox_pending_by_merchant ON outbox (merchant_id, created_at, webhook_id) WHERE state IN ${PENDING_STATES_SQL};

CREATE TABLE processed_transfers (
  identity text COLLATE "C" PRIMARY KEY,
  transfers jsonb NOT NULL CHECK (jsonb_typeof(transfers) = 'array' AND jsonb_array_length(transfers) > 0),
  last_block bigint GENERATED ALWAYS AS (settleproof_last_block(transfers)) STORED NOT NULL
);
CREATE INDEX processed_transfers_by_block ON processed_transfers (last_block);

CREATE TABLE replayed_events (
  webhook_id text COLLATE "C" PRIMARY KEY
);

CREATE TABLE final_counts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  settled bigint NOT NULL DEFAULT 0,
  delivered bigint NOT NULL DEFAULT 0,
  dead bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION settleproof_count_invoices() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE added bigint := 0; removed bigint := 0;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN SELECT count(*) INTO added FROM new_rows WHERE status = 'settled'; END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN SELECT count(*) INTO removed FROM old_rows WHERE status = 'settled'; END IF;
  IF added <> removed THEN INSERT INTO final_counts (settled) VALUES (added - removed); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER invoices_count_insert AFTER INSERT ON invoices REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_invoices();
CREATE TRIGGER invoices_count_update AFTER UPDATE ON invoices REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_invoices();
CREATE TRIGGER invoices_count_delete AFTER DELETE ON invoices REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_invoices();

CREATE FUNCTION settleproof_count_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delivered bigint := 0; dead bigint := 0; n_delivered bigint; n_dead bigint;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state = 'dead') INTO n_delivered, n_dead FROM new_rows;
    delivered := delivered + n_delivered; dead := dead + n_dead;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state = 'dead') INTO n_delivered, n_dead FROM old_rows;
    delivered := delivered - n_delivered; dead := dead - n_dead;
  END IF;
  IF delivered <> 0 OR dead <> 0 THEN INSERT INTO final_counts (delivered, dead) VALUES (delivered, dead); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_outbox();
CREATE TRIGGER outbox_count_update AFTER UPDATE ON outbox REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_outbox();
CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_outbox();

-- A dead event a replay delivered counts as delivered, no longer dead (a replay of an event
-- that is not dead here changes no count).
CREATE FUNCTION settleproof_count_replays() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN SELECT count(*) INTO n FROM new_rows JOIN outbox USING (webhook_id) WHERE outbox.state = 'dead';
  ELSE SELECT -count(*) INTO n FROM old_rows JOIN outbox USING (webhook_id) WHERE outbox.state = 'dead'; END IF;
  IF n <> 0 THEN INSERT INTO final_counts (delivered, dead) VALUES (n, -n); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER replayed_events_count_insert AFTER INSERT ON replayed_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_replays();
CREATE TRIGGER replayed_events_count_delete AFTER DELETE ON replayed_events REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION settleproof_count_replays();

-- The dead-letter queue every replica sees: one letter per webhook id, in the order they died
-- (a letter recorded again moves to the end, as in the JSONL file), with its latest replay.
CREATE SEQUENCE dead_letters_order;
CREATE TABLE dead_letters (
  letter jsonb NOT NULL,
  webhook_id text COLLATE "C" GENERATED ALWAYS AS (letter->>'webhook_id') STORED PRIMARY KEY,
  died bigint NOT NULL DEFAULT nextval('dead_letters_order'),
  replayed_at text,
  replay_status integer,
  CHECK (letter->>'kind' = 'dead_letter')
);
CREATE INDEX dead_letters_by_death ON dead_letters (died);
`

/** Every schema version this release knows, oldest first. */
export const MIGRATIONS: readonly Migration[] = [{ version: 1, description: 'invoices, outbox, processed transfers, counts, dead letters', sql: VERSION_1 }]

/** The schema version this release writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version

const CREATE_VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS settleproof_migrations (
  version integer PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`

/**
 * Brings the schema to `SCHEMA_VERSION` in one transaction, under a transaction-scoped advisory
 * lock: replicas starting together migrate one after the other, and the later ones find nothing
 * left to do. A migration that fails leaves the schema as it was.
 * @returns the version found and the version now.
 * @throws {StoreSchemaTooNewError} a later release migrated the database: this one refuses to touch it.
 */
export async function migrate(client: pg.ClientBase, location: string): Promise<{ from: number; to: number }> {
  await client.query('BEGIN')
  try {
    await client.query('SET LOCAL statement_timeout = 0') // a migration of a large table may take long; the lock waits for another replica's
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK])
    await client.query(CREATE_VERSIONS_TABLE)
    const from = await currentVersion(client)
    if (from > SCHEMA_VERSION) throw new StoreSchemaTooNewError(location, from, SCHEMA_VERSION)
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue
      await client.query(migration.sql)
      await client.query('INSERT INTO settleproof_migrations (version, description) VALUES ($1, $2)', [migration.version, migration.description])
    }
    await client.query('COMMIT')
    return { from, to: Math.max(from, SCHEMA_VERSION) }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/**
 * The schema version the database holds (0 before the first migration), without migrating:
 * for readers that must not write (`settleproof status`).
 */
export async function readSchemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ present: boolean }>(`SELECT to_regclass('settleproof_migrations') IS NOT NULL AS present`)
  return exists.rows[0]?.present === true ? await currentVersion(client) : 0
}

async function currentVersion(client: pg.ClientBase): Promise<number> {
  const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM settleproof_migrations')
  return result.rows[0]?.version ?? 0
}
