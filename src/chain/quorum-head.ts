/**
 * The highest block that at least `quorum` providers have reached, or undefined when fewer
 * than `quorum` providers answered. One provider far ahead (or lying about its head) cannot
 * raise it; one far behind cannot hold it back.
 */
export function quorumHead(heads: readonly number[], quorum: number): number | undefined {
  if (heads.length < quorum) return undefined
  return [...heads].sort((a, b) => b - a)[quorum - 1]
}

/**
 * Where a provider that has not answered yet in this round stands:
 * - `answering`: it answered its previous probe. The round waits for it: besides its head, it
 *   is needed for the range, since with one provider lying the quorum needs every honest one;
 * - `new`: it never answered. Waited for only while its head could still change the quorum
 *   head (a provider that hangs from the start holds up no round; if it is merely slow, it is
 *   `answering` from the next round on);
 * - `unresponsive`: its previous probe failed, or it has left an earlier round's probe
 *   unanswered (a hung provider). Not waited for; its head still counts if it comes in time.
 */
export type PendingProvider = 'answering' | 'new' | 'unresponsive'

/** What a round knows of the heads while providers are still answering. */
export type HeadsSoFar = {
  /** Heads answered in this round by providers that count (not refused). */
  answered: readonly number[]
  /** One entry per provider that has not answered yet. */
  pending: readonly PendingProvider[]
  quorum: number
}

export type QuorumHeadDecision = { kind: 'decided'; head: number } | { kind: 'wait' } | { kind: 'no_quorum' }

/**
 * Whether a round can stop waiting for heads, and the quorum head if so (SPEC §5).
 *
 * The head decided is always `quorumHead(answered)`: `quorum` providers reported it in this
 * round, so it never exceeds a height `quorum` providers reached, and those providers can be
 * asked for the range. A head still to come can only raise it (a higher head never lowers the
 * quorum-th highest), so stopping early is always safe, and the rule only decides when it costs
 * nothing: once no `answering` provider is pending, and no `new` one could raise the head even
 * if it answered the highest block of all. With `quorum` equal heads in and one provider
 * pending out of three, that is at once.
 */
export function decideQuorumHead(heads: HeadsSoFar): QuorumHeadDecision {
  const { answered, pending, quorum } = heads
  if (answered.length + pending.length < quorum) return { kind: 'no_quorum' }
  const head = quorumHead(answered, quorum)
  if (head === undefined || pending.includes('answering')) return { kind: 'wait' }
  const highest = pending.filter((p) => p === 'new').map(() => Number.POSITIVE_INFINITY)
  return quorumHead([...answered, ...highest], quorum)! > head ? { kind: 'wait' } : { kind: 'decided', head }
}

/** The last final block: `head - block + 1 >= confirmations` (SPEC §4). */
export function safeHead(head: number, confirmations: number): number {
  return head - confirmations + 1
}

export type BlockRange = { fromBlock: number; toBlock: number }

/**
 * The next range to read: from just after the checkpoint, at most `maxBlockRange` blocks,
 * never past the safe head. Undefined when there is nothing final to read.
 */
export function nextRange(checkpoint: number, safe: number, maxBlockRange: number): BlockRange | undefined {
  if (safe <= checkpoint) return undefined
  return { fromBlock: checkpoint + 1, toBlock: Math.min(safe, checkpoint + maxBlockRange) }
}
