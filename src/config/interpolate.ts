import type { ConfigIssue } from './errors.ts'
import { formatConfigPath } from './errors.ts'

/** Variables visible to `${VAR}` references: the environment, then `.env`. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>

export type InterpolateResult = { value: unknown; issues: ConfigIssue[] }

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * Replaces every `${VAR}` inside the string values of a parsed YAML document. An unset
 * variable is an issue that names the variable and where it was used, never its would-be
 * value. Keys are left alone: only values are interpolated.
 */
export function interpolateEnv(document: unknown, env: ConfigEnv): InterpolateResult {
  const issues: ConfigIssue[] = []
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(REFERENCE, (whole, name: string) => {
        // Own keys only: `${toString}` must not find Object.prototype.toString.
        const value = Object.hasOwn(env, name) ? env[name] : undefined
        if (value === undefined) {
          issues.push({ path: formatConfigPath(path), message: `environment variable ${name} is not set (set it in the environment or in .env)` })
          return whole
        }
        return value
      })
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]))
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value, [...path, key])]))
    }
    return node
  }
  return { value: walk(document, []), issues }
}
