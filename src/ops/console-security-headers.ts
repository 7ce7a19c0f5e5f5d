import { createHash } from 'node:crypto'

/**
 * The console's import map, the page's one inline script: a module script may not load
 * `preact` by name without it, and an external import map is not supported by browsers. Its
 * SHA-256 is what the Content-Security-Policy allows, so no other inline script can run.
 * @throws {Error} the page holds no import map, or more than one.
 */
export function importMapHash(html: string): string {
  const maps = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)]
  if (maps.length !== 1) throw new Error(`the console page must hold exactly one import map, found ${maps.length}`)
  return `sha256-${createHash('sha256').update(maps[0]![1]!, 'utf8').digest('base64')}`
}

/**
 * The headers on every console response. The policy allows scripts, styles, images and
 * requests from the daemon itself only, plus the import map by its hash: no inline script or
 * style attribute, no `eval`, no frame, no form posting anywhere, no plugin. The page is never
 * cached, framed, sniffed or sent as a referrer; HSTS belongs to the TLS proxy in front.
 */
export function consoleSecurityHeaders(scriptHashes: readonly string[]): Record<string, string> {
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${scriptHashes.map((hash) => `'${hash}'`).join(' ')}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ')
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    'cache-control': 'no-store',
  }
}
