import { findExampleLeftovers, readExampleValues } from '../../config/example-leftovers.ts'
import { formatConfigIssue } from '../../config/errors.ts'
import { loadConfig } from '../../config/load.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const checkConfigHelp = `Usage: settleproof check-config [--config FILE] [--probe]

Validates the configuration and prints each problem with its path, e.g.
  merchants[1].webhook_url: invalid URL: expected an http:// or https:// URL
and warns about values still left from the examples (REPLACE_WITH…, the secrets of
.env.example). Exit 0 when valid, 78 when not. FILE defaults to $SETTLEPROOF_CONFIG, then
./skill.yaml.

--probe   also asks each provider for its chain id and head and each merchant endpoint for
          any HTTP answer (HEAD, no event sent), and names which failed and how (DNS,
          refused, TLS, timeout, HTTP status, another chain id). Exit 1 when one failed.
`

/** `settleproof check-config`: a ConfigError propagates to main, which prints it and exits 78. */
export async function checkConfig(options: { config?: string | undefined; probe?: boolean }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<ExitCode> {
  const { path, config } = loadConfig({ path: options.config })
  out.write(`${path}: valid (chain ${config.chain.id}, ${config.providers.length} providers, quorum ${config.quorum}, ${config.merchants.length} merchant${config.merchants.length === 1 ? '' : 's'})\n`)
  for (const leftover of findExampleLeftovers(config, readExampleValues())) err.write(`warning: ${formatConfigIssue(leftover)}\n`)
  if (!options.probe) return EXIT.ok
  // Loaded only for --probe: the RPC and HTTP clients take seconds to load on a busy machine.
  const { probeEndpoints } = await import('../../ops/probe-endpoints.ts')
  const results = await probeEndpoints({ config })
  for (const result of results) out.write(`probe ${result.kind} ${result.name}: ${result.ok ? 'ok' : 'FAILED'}: ${result.detail}\n`)
  return results.every((result) => result.ok) ? EXIT.ok : EXIT.failure
}
