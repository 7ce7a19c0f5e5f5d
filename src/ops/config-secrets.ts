import type { Config } from '../config/schema.ts'
import { REDACTED, urlSecrets } from './redact.ts'

/**
 * Every secret value a configuration holds: webhook secrets (whole and their key part), API
 * keys, the operator token, the parts of provider URLs that may carry a key, and the
 * credentials and query values of webhook URLs. What the operator API masks in its answers
 * whatever their source, so a secret that reached an error text never reaches a page.
 */
export function configSecrets(config: Config): string[] {
  const secrets = [
    ...config.merchants.flatMap((m) => [...m.webhook_secret.flatMap((secret) => [secret, secret.slice('whsec_'.length)]), m.api_key, ...webhookUrlSecrets(m.webhook_url)]),
    ...config.providers.flatMap((p) => urlSecrets(p.url)),
    ...(config.server.operator_token === undefined ? [] : [config.server.operator_token]),
  ]
  return [...new Set(secrets)].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length)
}

/** A webhook URL's host and path say where events go and are shown; its userinfo and query values are secrets. */
function webhookUrlSecrets(url: string): string[] {
  const parsed = new URL(url)
  const rawQueryValues = parsed.search.slice(1).split('&').map((pair) => pair.slice(pair.indexOf('=') + 1))
  return [parsed.username, parsed.password, decodeURIComponent(parsed.username), decodeURIComponent(parsed.password), ...parsed.searchParams.values(), ...rawQueryValues]
}

/** Replaces each whole occurrence of a secret (longest first) with `[redacted]`; for whole answers, where a cut at the edges cannot happen. */
export function maskWholeSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  return out
}
