import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import type { ConfigIssue } from './errors.ts'
import { formatConfigPath } from './errors.ts'

/** Placeholders the shipped examples use for what an operator must fill in. */
const PLACEHOLDER = /REPLACE_WITH|replace-with/

/** The values of the shipped `.env.example`: secrets anyone can read, never to be run with. */
export function readExampleValues(path: string | URL = new URL('../../.env.example', import.meta.url)): string[] {
  try {
    return Object.values(parseEnv(readFileSync(path, 'utf8'))).filter((value): value is string => typeof value === 'string' && value.length >= 8)
  } catch {
    return [] // an install without the example file: the placeholders are still recognised
  }
}

/**
 * Every string in the configuration that still holds a value from the examples: a
 * `REPLACE_WITH…` placeholder or a value copied from `.env.example`
 * (its webhook secret is public). Warnings name the path only, never the value.
 */
export function findExampleLeftovers(config: unknown, exampleValues: readonly string[]): ConfigIssue[] {
  const found: ConfigIssue[] = []
  const walk = (value: unknown, path: PropertyKey[]) => {
    if (typeof value === 'string') {
      if (exampleValues.includes(value)) found.push({ path: formatConfigPath(path), message: 'still the example value from .env.example: set your own' })
      else if (PLACEHOLDER.test(value)) found.push({ path: formatConfigPath(path), message: 'still a placeholder from the examples: set the real value' })
    } else if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]))
    else if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) walk(child, [...path, key])
  }
  walk(config, [])
  return found
}
