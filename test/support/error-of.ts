/**
 * The error `attempt` rejected with, or undefined when it succeeded; what it opened on success
 * is released first (`release`), so a test of a refusal never leaves a store or a lock held.
 */
export async function errorOf<T>(attempt: Promise<T>, release: (value: T) => Promise<void>): Promise<unknown> {
  return attempt.then(
    async (value) => {
      await release(value)
      return undefined
    },
    (error: unknown) => error,
  )
}
