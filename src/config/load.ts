import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { parseDocument } from 'yaml'
import type { ConfigIssue } from './errors.ts'
import { ConfigError, formatConfigPath } from './errors.ts'
import type { ConfigEnv } from './interpolate.ts'
import { interpolateEnv } from './interpolate.ts'
import type { Config } from './schema.ts'
import { configSchema } from './schema.ts'

export type LoadConfigParameters = {
  /** Explicit `--config` value; else `$SETTLEPROOF_CONFIG`, else `./skill.yaml`. */
  path?: string | undefined
  /** Defaults to `process.env`. */
  env?: ConfigEnv
  /** Directory that relative paths are resolved against; defaults to the working directory. */
  cwd?: string
}

export type LoadedConfig = { path: string; config: Config }

/** Where the configuration is read from, by SPEC §3's order of precedence. */
export function resolveConfigPath(explicit: string | undefined, env: ConfigEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, explicit ?? env.SETTLEPROOF_CONFIG ?? 'skill.yaml')
}

/**
 * Reads `skill.yaml`, interpolates `${VAR}` from the environment and then `.env` (the
 * environment wins), validates it and returns a deep-frozen value.
 * @throws {ConfigError} listing every problem with its path.
 */
export function loadConfig(parameters: LoadConfigParameters = {}): LoadedConfig {
  const env = parameters.env ?? process.env
  const cwd = parameters.cwd ?? process.cwd()
  const path = resolveConfigPath(parameters.path, env, cwd)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'file cannot be read'
    throw new ConfigError([{ path: '', message: `${path}: ${reason} (pass --config FILE or set SETTLEPROOF_CONFIG)` }], path)
  }
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true })
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((e) => ({ path: '', message: `YAML syntax error at line ${e.linePos?.[0]?.line ?? '?'}: ${e.code}` })),
      path,
    )
  }
  const dotEnv = readDotEnv([dirname(path), cwd])
  return { path, config: parseConfig(document.toJS(), { ...dotEnv, ...definedOnly(env) }, path) }
}

/**
 * Validates an already-parsed document. Exported so tests and the demo build configurations
 * through the same schema as `skill.yaml`.
 */
export function parseConfig(document: unknown, env: ConfigEnv = {}, source = 'configuration'): Config {
  const interpolated = interpolateEnv(document, env)
  const result = configSchema.safeParse(interpolated.value)
  const issues: ConfigIssue[] = [...interpolated.issues]
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) issues.push({ path: formatConfigPath([...issue.path, key]), message: 'unknown key' })
      } else if (!issues.some((known) => known.path === formatConfigPath(issue.path))) {
        // An unset variable already explains why the same value failed validation.
        issues.push({ path: formatConfigPath(issue.path), message: issue.path.length === 0 && issue.code === 'invalid_type' ? 'expected a YAML mapping' : issue.message })
      }
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, source)
  return deepFreeze(result.data)
}

function readDotEnv(directories: readonly string[]): Record<string, string> {
  for (const directory of new Set(directories)) {
    const file = resolve(directory, '.env')
    if (existsSync(file)) return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>
  }
  return {}
}

function definedOnly(env: ConfigEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
