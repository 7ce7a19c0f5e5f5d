import type { Hex } from 'viem'
import { logFingerprint, type ObservedLog } from './log.ts'

/** One provider's answer, with the fingerprint that identical answers share. */
export type ProviderAnswer<T> = { provider: string; value: T; fingerprint: string }

export type Agreement<T> =
  | { agreed: true; value: T; providers: string[]; dissenters: string[] }
  | { agreed: false; groups: { fingerprint: string; providers: string[] }[] }

/**
 * The answer at least `quorum` providers gave identically. With no such answer, or two
 * different answers that both reach the quorum (possible only when quorum is at most half
 * the providers), nothing is agreed: a tie is never broken by guessing.
 */
export function agree<T>(answers: readonly ProviderAnswer<T>[], quorum: number): Agreement<T> {
  const groups = new Map<string, { fingerprint: string; value: T; providers: string[] }>()
  for (const answer of answers) {
    const group = groups.get(answer.fingerprint)
    if (group) group.providers.push(answer.provider)
    else groups.set(answer.fingerprint, { fingerprint: answer.fingerprint, value: answer.value, providers: [answer.provider] })
  }
  const ranked = [...groups.values()].sort((a, b) => b.providers.length - a.providers.length)
  const [top, runnerUp] = ranked
  if (top === undefined || top.providers.length < quorum || (runnerUp !== undefined && runnerUp.providers.length === top.providers.length)) {
    return { agreed: false, groups: ranked.map(({ fingerprint, providers }) => ({ fingerprint, providers })) }
  }
  return { agreed: true, value: top.value, providers: top.providers, dissenters: ranked.slice(1).flatMap((group) => group.providers) }
}

/** What one provider said about a range: its logs and the hashes that pin which chain it read. */
export type RangeObservation = {
  logs: ObservedLog[]
  /** Hash of the block at the checkpoint, when the checkpoint is being re-verified. */
  checkpointHash?: Hex | undefined
  /** Hash of the range's last block. */
  endHash?: Hex | undefined
}

export type RangeAgreement =
  | {
      agreed: true
      observation: RangeObservation
      /** For each agreed log (same order), every provider whose answer held it identically. */
      witnesses: string[][]
      providers: string[]
      dissenters: string[]
    }
  | { agreed: false; groups: { fingerprint: string; providers: string[] }[] }

/**
 * SPEC §5's acceptance rule for one range: at least `quorum` providers answered the whole
 * range with the same set of logs, identical in position (tx hash, block, log index) and in
 * content (address, topics, data, block hash), on the same chain (same block hashes).
 */
export function agreeOnRange(answers: readonly { provider: string; observation: RangeObservation }[], quorum: number): RangeAgreement {
  const fingerprinted = answers.map(({ provider, observation }) => ({
    provider,
    value: observation,
    fingerprint: rangeFingerprint(observation),
  }))
  const agreement = agree(fingerprinted, quorum)
  if (!agreement.agreed) return agreement
  const held = fingerprinted.map(({ provider, value }) => ({ provider, fingerprints: new Set(value.logs.map(logFingerprint)) }))
  const witnesses = agreement.value.logs.map((log) => {
    const fingerprint = logFingerprint(log)
    return held.filter(({ fingerprints }) => fingerprints.has(fingerprint)).map(({ provider }) => provider)
  })
  return { agreed: true, observation: agreement.value, witnesses, providers: agreement.providers, dissenters: agreement.dissenters }
}

const rangeFingerprints = new WeakMap<RangeObservation, string>()

/** What identical range answers share; computed once per answer (answers are immutable). */
export function rangeFingerprint(observation: RangeObservation): string {
  let fingerprint = rangeFingerprints.get(observation)
  if (fingerprint === undefined) {
    const logs = observation.logs.map(logFingerprint).sort()
    fingerprint = `${observation.checkpointHash ?? '-'}|${observation.endHash ?? '-'}|${logs.join('|')}`
    rangeFingerprints.set(observation, fingerprint)
  }
  return fingerprint
}
