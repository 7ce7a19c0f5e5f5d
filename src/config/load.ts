import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { LineCounter, isPair, isScalar, isSeq, parseDocument, visit, type Document, type YAMLError } from 'yaml'
import type { ConfigIssue } from './errors.ts'
import { ConfigError, formatConfigPath } from './errors.ts'
import { describeIssue, describeUnknownKey } from './describe-issue.ts'
import type { ConfigEnv } from './interpolate.ts'
import { interpolateEnv } from './interpolate.ts'
import type { Config } from './schema.ts'
import { configSchema } from './schema.ts'

export type LoadConfigParameters = {
  /** Explicit `--config` value; else `$SETTLEPROOF_CONFIG`, else `./skill.yaml`. */
  path?: string | undefined
  /** Defaults to `process.env`. */
  env?: ConfigEnv
  /** Directory a relative `--config` is resolved against; defaults to the working directory. */
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
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter })
  if (document.errors.length > 0) throw new ConfigError(document.errors.map((error) => describeYamlError(error, document, lineCounter)), path)
  const dotEnv = readDotEnv([dirname(path), cwd])
  return { path, config: parseConfig(document.toJS(), { ...dotEnv, ...definedOnly(env) }, path, dirname(path)) }
}

/**
 * A YAML error located as an editor shows it (`line 4, column 3`), with the key for a
 * duplicate. yaml's message is used without its source excerpt: the excerpt may hold a secret.
 */
export function describeYamlError(error: YAMLError, document: Document, lineCounter: LineCounter): ConfigIssue {
  const at = lineCounter.linePos(error.pos[0])
  const where = `line ${at.line}, column ${at.col}`
  if (error.code === 'DUPLICATE_KEY') {
    const key = keyPathAt(document, error.pos[0])
    return { path: key ?? '', message: `${where}: duplicate key: each key may appear once in a mapping` }
  }
  const reason = (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '')
  return { path: '', message: `${where}: YAML syntax error (${error.code}): ${reason}` }
}

/**
 * Validates an already-parsed document. Exported so tests and the demo build configurations
 * through the same schema as `skill.yaml`.
 */
export function parseConfig(document: unknown, env: ConfigEnv = {}, source = 'configuration', baseDirectory?: string): Config {
  const interpolated = interpolateEnv(document, env)
  // reportInput: "required" is told from a wrong value by the input being absent; inputs are never printed.
  const result = configSchema.safeParse(interpolated.value, { reportInput: true })
  const issues: ConfigIssue[] = [...interpolated.issues]
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) issues.push({ path: formatConfigPath([...issue.path, key]), message: describeUnknownKey(key, issue.path, configSchema) })
      } else if (!issues.some((known) => known.path === formatConfigPath(issue.path))) {
        // An unset variable already explains why the same value failed validation.
        issues.push({ path: formatConfigPath(issue.path), message: describeIssue(issue) })
      }
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, source)
  const config = result.data
  if (baseDirectory !== undefined) {
    // SPEC §4: relative paths resolve against the configuration file's folder, not the working
    // directory, so `status` run from anywhere reads the store the daemon writes.
    if (config.storage.driver === 'lowdb') config.storage.path = resolve(baseDirectory, config.storage.path)
    config.dlq.path = resolve(baseDirectory, config.dlq.path)
  }
  return deepFreeze(config)
}

/** The path (`chain.id`, `merchants[1].api_key`) of the mapping key that starts at `offset`. */
function keyPathAt(document: Document, offset: number): string | undefined {
  let found: string | undefined
  visit(document, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined
      const path: PropertyKey[] = []
      ancestors.forEach((node, i) => {
        if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value))
        else if (isSeq(node)) path.push(node.items.indexOf(ancestors[i + 1] as never))
      })
      found = formatConfigPath([...path, String(pair.key.value)])
      return visit.BREAK
    },
  })
  return found
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
