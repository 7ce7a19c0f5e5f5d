import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium: `npm test` installs it first (scripts/test-tools.ts); no test tool downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium'

/**
 * A headless Chromium with a fresh temporary profile (playwright's `launch` makes one and
 * deletes it on close), that talks to nothing but the pages it is sent to: no sync, no
 * component updates, no background requests.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run "npm test" (scripts/test-tools.ts installs Debian's chromium), or "apt-get install chromium"`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
