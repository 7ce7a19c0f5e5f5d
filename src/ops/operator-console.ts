import { consolePages } from './console-pages.ts'
import type { HttpPlugin } from './http-server.ts'
import { LagHistory } from './lag-history.ts'
import { opsApi } from './ops-api.ts'
import type { OpsSources } from './ops-views.ts'

export type OperatorConsoleParameters = OpsSources & { now?: () => number }

/**
 * The operator console of SPEC §11: the `/v1/ops/` API and the `/console` page, enabled by
 * `server.operator_token`. Without a token there is nothing to register, so both answer 404
 * like any unknown path. The lag history starts here, fed by every reader round.
 */
export function operatorConsole(parameters: OperatorConsoleParameters): HttpPlugin[] {
  const token = parameters.config.server.operator_token
  if (token === undefined) return []
  const now = parameters.now ?? Date.now
  const lagHistory = new LagHistory()
  const { reader } = parameters
  reader.onRound(() => {
    const status = reader.status()
    lagHistory.record({ at: now(), checkpoint: status.checkpoint, head: status.head, lag: status.lag })
  })
  return [opsApi({ ...parameters, token, lagHistory, now }), consolePages()]
}
