import type { z } from 'zod'
import { nearestKey } from './nearest-key.ts'

/**
 * The keys a strict object of `schema` accepts at `path` (array indexes step into the element
 * schema), so an unknown key can be answered with the nearest known one. Empty when the path
 * does not lead to an object.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema
  for (let i = 0; current !== undefined; ) {
    const def: z.core.$ZodTypeDef & Record<string, unknown> = current._zod.def as never
    if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable') current = def.innerType as z.core.$ZodType
    else if (def.type === 'pipe') current = def.in as z.core.$ZodType
    else if (i === path.length) return def.type === 'object' ? Object.keys(def.shape as object) : []
    else if (def.type === 'array' && typeof path[i] === 'number') (current = def.element as z.core.$ZodType), i++
    else if (def.type === 'object') (current = (def.shape as Record<string, z.core.$ZodType>)[String(path[i])]), i++
    else return []
  }
  return []
}

/**
 * One zod issue in an operator's words. Messages the schema wrote itself (refinements) pass
 * through; zod's generic wording is replaced ("required", "expected a number"). No message
 * ever repeats the value: it may be a secret.
 */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      throw new Error('unrecognized_keys issues name several keys: use describeUnknownKey for each')
    case 'invalid_type':
      if (issue.input === undefined) return 'required'
      if (issue.path.length === 0) return 'expected a YAML mapping'
      return `expected ${article(issue.expected)}`
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} entr${Number(issue.minimum) === 1 ? 'y' : 'ies'}`
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${String(issue.minimum)} characters`
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}`
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`
    default:
      return issue.message
  }
}

/** `chain.confirmation: unknown key (did you mean confirmations?)`, the suggestion only when one is close. */
export function describeUnknownKey(key: string, parentPath: readonly PropertyKey[], schema: z.ZodType): string {
  const suggestion = nearestKey(key, knownKeysAt(schema, parentPath))
  return suggestion === undefined ? 'unknown key' : `unknown key (did you mean ${suggestion}?)`
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer'
  if (expected === 'object') return 'a mapping'
  if (expected === 'array') return 'a list'
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
}
