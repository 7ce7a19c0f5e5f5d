/**
 * Masking secrets in text that an operator sees (log lines, errors, `/diagnostics`, CLI
 * output). One mechanism for every display, so the order of its steps is decided once:
 * mask first, cut after. Cutting first can split a secret so that no whole copy of it is
 * left to find, and the part before the cut is then shown in clear.
 */

/** What a secret is replaced with. */
export const REDACTED = '[redacted]'

/** The shortest piece of a secret masked where a text begins or ends (shorter pieces are too common to tell). */
export const MIN_SECRET_FRAGMENT = 4

/**
 * Replaces every whole occurrence of each secret, longest first, then any piece of a secret
 * that a cut made before this call left at the text's edges: an end that is the start of a
 * secret, a beginning that is the end of one. So a text cut upstream is masked too.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const candidates = [...new Set(secrets)].filter((secret) => secret.length >= MIN_SECRET_FRAGMENT).sort((a, b) => b.length - a.length)
  let out = text
  for (const secret of candidates) out = out.split(secret).join(REDACTED)
  for (const secret of candidates) {
    for (let length = Math.min(secret.length - 1, out.length); length >= MIN_SECRET_FRAGMENT; length--) {
      if (out.endsWith(secret.slice(0, length))) {
        out = `${out.slice(0, out.length - length)}${REDACTED}`
        break
      }
    }
    for (let length = Math.min(secret.length - 1, out.length); length >= MIN_SECRET_FRAGMENT; length--) {
      if (out.startsWith(secret.slice(secret.length - length))) {
        out = `${REDACTED}${out.slice(length)}`
        break
      }
    }
  }
  return out
}

/**
 * The text as it may be shown: secrets masked, then cut to `maxChars` (an ellipsis marks the
 * cut). A cut never splits a `[redacted]` marker into something that looks like text.
 */
export function redactText(text: string, secrets: readonly string[], maxChars: number): string {
  const masked = maskSecrets(text, secrets)
  if (masked.length <= maxChars) return masked
  let cut = masked.slice(0, maxChars)
  const marker = cut.lastIndexOf('[')
  if (marker !== -1 && REDACTED.startsWith(cut.slice(marker)) && cut.length - marker < REDACTED.length) cut = cut.slice(0, marker)
  return `${cut}…`
}

/**
 * The parts of a URL that may carry a key: the URL itself, host and path, each path segment
 * and query value long enough to be a key, and credentials.
 */
export function urlSecrets(url: string): string[] {
  const parsed = new URL(url)
  const segments = parsed.pathname.split('/').filter((segment) => segment.length >= 6)
  const queryValues = [...parsed.searchParams.values()].filter((value) => value.length >= 6)
  const raw = [...parsed.search.slice(1).split('&').map((pair) => pair.slice(pair.indexOf('=') + 1))].filter((value) => value.length >= 6)
  return [url, parsed.href, `${parsed.host}${parsed.pathname}`, parsed.pathname.length > 1 ? parsed.pathname : '', parsed.search, parsed.username, parsed.password, decodeURIComponent(parsed.username), decodeURIComponent(parsed.password), ...segments, ...queryValues, ...raw]
    .filter((part) => part.length >= MIN_SECRET_FRAGMENT)
    .sort((a, b) => b.length - a.length)
}

/**
 * A webhook URL as it may be shown: scheme, host, port and path kept (they say where events
 * go), userinfo and every query value masked (merchants put tokens there). The stored URL is
 * never changed; only what is displayed.
 */
export function displayUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return REDACTED
  }
  const userinfo = parsed.username !== '' || parsed.password !== '' ? `${REDACTED}@` : ''
  const query = parsed.search === '' ? '' : `?${parsed.search.slice(1).split('&').map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=${REDACTED}` : REDACTED)).join('&')}`
  return `${parsed.protocol}//${userinfo}${parsed.host}${parsed.pathname}${query}`
}
