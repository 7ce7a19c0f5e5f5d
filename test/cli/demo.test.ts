// Real parts: the CLI as a child process runs `settleproof demo` exactly as `npm start` does:
// its own anvil chain, token, fault proxies, webhook receiver and daemon. Nothing is mocked.
import { describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'

describe('settleproof demo (npm start)', () => {
  it('settles and delivers every invoice once, verified, and names the lying provider', { timeout: 200_000 }, async () => {
    const result = await runCli(['demo'], { timeoutMs: 180_000 })
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('invoices settled: 4/4; webhooks delivered: 4/4')
    expect(result.stdout).toMatch(/all signatures verified: true; one webhook-id per invoice across retries: true/)
    expect(result.stdout).toMatch(/answers rejected as disagreeing with the quorum: tertiary ×\d+/)
    expect(result.code).toBe(0)
  })
})
