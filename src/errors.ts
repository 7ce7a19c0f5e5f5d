/** Options every SettleProof error accepts. */
export type SettleProofErrorOptions = {
  /** Extra lines that help the reader act (one per provider answer, one per config problem). */
  details?: readonly string[]
  /** The underlying error. Never pass an error whose message may carry a secret. */
  cause?: unknown
}

/**
 * Base class of every error SettleProof throws on purpose. Callers switch on `code`
 * (stable, documented), never on the message text, which may be reworded.
 */
export class SettleProofError extends Error {
  readonly code: string
  readonly details: readonly string[]

  constructor(code: string, message: string, options: SettleProofErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.details = options.details ?? []
  }

  /** The message followed by its detail lines, as the CLI prints it. */
  describe(): string {
    return [this.message, ...this.details.map((line) => `  ${line}`)].join('\n')
  }
}
