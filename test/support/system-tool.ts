import { spawn } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where scripts/test-tools.ts keeps the Debian tools it fetched for the tests (gitignored with node_modules). */
export const CACHE_ROOT = fileURLToPath(new URL('../../node_modules/.cache/settleproof-tools/', import.meta.url))
export const CACHE_BIN = join(CACHE_ROOT, 'bin')

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The path of a command: on PATH, else fetched into the cache by `npm test`'s first step; undefined when neither. */
export function findTool(command: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), CACHE_BIN]) {
    const path = join(dir, command)
    if (executable(path)) return path
  }
  return undefined
}

/** Like `findTool`, but a missing tool fails the test with what to run: such a test is never skipped. */
export function requireTool(command: string): string {
  const path = findTool(command)
  if (path === undefined) throw new Error(`${command} is missing: npm test fetches it first (node scripts/test-tools.ts); run that and read its output`)
  return path
}

/** `promtool check metrics` on a Prometheus exposition: what it printed and its exit code (promtool prints nothing when all is well). */
export function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(requireTool('promtool'), ['check', 'metrics'])
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
    child.stdin.end(text)
  })
}

/** Where Debian's `postgresql` packages put their server binaries, one directory per major version. */
export const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql'

/**
 * The `bin` directory of the newest PostgreSQL server installed (Debian's layout:
 * `/usr/lib/postgresql/<major>/bin`, with `initdb` and `pg_ctl`), or undefined when none is.
 */
export function findPostgresBinDir(): string | undefined {
  let versions: string[]
  try {
    versions = readdirSync(DEBIAN_POSTGRES_ROOT)
  } catch {
    return undefined
  }
  const newestFirst = versions.filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number(b) - Number(a))
  for (const version of newestFirst) {
    const bin = join(DEBIAN_POSTGRES_ROOT, version, 'bin')
    if (executable(join(bin, 'initdb')) && executable(join(bin, 'pg_ctl'))) return bin
  }
  return undefined
}
