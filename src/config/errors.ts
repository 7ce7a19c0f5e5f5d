import { SettleProofError } from '../errors.ts'

/** One problem in a configuration, located by its path (`merchants[1].webhook_url`). */
export type ConfigIssue = {
  /** Dotted path into the YAML document; empty for the document as a whole. */
  path: string
  message: string
}

/**
 * The configuration cannot be used. `issues` lists every problem found, not just the first,
 * so that an operator fixes them all in one pass. Messages never repeat a value, because
 * the value may be a secret or a URL carrying an API key.
 */
export class ConfigError extends SettleProofError {
  readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[], source = 'configuration') {
    super('CONFIG_INVALID', `${source} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}): fix each line below`, {
      details: issues.map(formatConfigIssue),
    })
    this.issues = issues
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`
}

/** Renders a path array as operators write it: `merchants[1].webhook_url`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out
}
