import { SettleProofError } from '../errors.ts'

/** The command line cannot be understood; the CLI prints the message and the usage, exit 2. */
export class UsageError extends SettleProofError {
  constructor(message: string) {
    super('USAGE', `${message} (see settleproof --help)`)
  }
}
