import { ProviderError } from '../../src/chain/errors.ts'

/** The ProviderError a provider call failed with; anything else (or success) fails the test. */
export async function providerFailure(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`)
  return error
}
