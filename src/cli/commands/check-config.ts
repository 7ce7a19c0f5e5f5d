import { loadConfig } from '../../config/load.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const checkConfigHelp = `Usage: settleproof check-config [--config FILE]

Validates the configuration and prints each problem with its path, e.g.
  merchants[1].webhook_url: invalid URL: expected an http:// or https:// URL
Exit 0 when valid, 78 when not. FILE defaults to $SETTLEPROOF_CONFIG, then ./skill.yaml.
`

/** `settleproof check-config`: a ConfigError propagates to main, which prints it and exits 78. */
export function checkConfig(options: { config?: string | undefined }, out: NodeJS.WritableStream): ExitCode {
  const { path, config } = loadConfig({ path: options.config })
  out.write(`${path}: valid (chain ${config.chain.id}, ${config.providers.length} providers, quorum ${config.quorum}, ${config.merchants.length} merchant${config.merchants.length === 1 ? '' : 's'})\n`)
  return EXIT.ok
}
