/**
 * The advisory locks SettleProof takes, as `(space, id)` pairs: the space is "sett" in ASCII,
 * so they are told apart from other applications' locks in `pg_locks`.
 */
const SPACE = 0x73657474

/** Held (transaction-scoped) while the schema is checked and migrated: replicas starting at once migrate one after the other. */
export const MIGRATION_LOCK = [SPACE, 1] as const
/** Held (session-scoped, on a connection of its own) while a `dlq replay` runs: one at a time across the cluster. */
export const DLQ_REPLAY_LOCK = [SPACE, 2] as const
