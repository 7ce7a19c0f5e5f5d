import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import type { ChainEvent } from '../../chain/chain-reader.ts'
import { parseConfig } from '../../config/load.ts'
import { silentLogger } from '../../ops/logger.ts'
import { startDaemon } from '../../daemon.ts'
import { SettleProofError } from '../../errors.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const demoHelp = `Usage: settleproof demo

Runs the product end to end on this machine with no configuration: a local anvil chain, a
test ERC-20, three providers of which one lies about amounts, and payments to a merchant.
Prints each transfer as the quorum accepts it and a summary; exit 0 when every payment was
accepted with the lie rejected. Needs the development install (npm install), which brings anvil.
`

const PAYMENTS = [125_000_000n, 42_500_000n, 9_990_000n, 250_000n, 1_000_000_000n]
const DEADLINE_MS = 60_000

/** `settleproof demo`: the chain-reading half of the product; settlement and webhooks join it as they land. */
export async function demo(out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  // The fixtures the tests use, loaded only here: a production image has no anvil.
  const [{ startAnvil }, { deployToken }, { startFaultProxy }] = await Promise.all([
    import('../../../test/support/anvil.ts'),
    import('../../../test/support/token.ts'),
    import('../../../test/support/fault-proxy.ts'),
  ]).catch((error: unknown) => {
    throw new SettleProofError('DEMO_UNAVAILABLE', `the demo needs the development install (npm install in a checkout): ${(error as Error).message}`)
  })
  const say = (line: string) => out.write(`${line}\n`)
  const dir = await mkdtemp(join(tmpdir(), 'settleproof-demo-'))
  const anvil = await startAnvil()
  const cleanup: (() => Promise<void>)[] = [() => anvil.stop(), () => rm(dir, { recursive: true, force: true })]
  try {
    say(`▶ local chain: anvil on ${anvil.url.replace(/^http:\/\//, '')} (chain id ${anvil.chainId})`)
    const token = await deployToken(anvil)
    const [payer, merchantAddress] = anvil.accounts.map((a) => a.toLowerCase() as Address)
    await token.mint(payer!, 10n ** 12n)
    say(`▶ test ERC-20 TUSD deployed at ${token.address}`)
    const proxies = await Promise.all([startFaultProxy(anvil.url), startFaultProxy(anvil.url), startFaultProxy(anvil.url, { kind: 'lie', lie: 'amount' })])
    cleanup.unshift(...proxies.map((p) => () => p.close()))
    say('▶ providers: primary (honest), secondary (honest), tertiary (lies: multiplies every amount by ten)')

    const config = parseConfig({
      chain: { id: anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 250, max_block_range: 500 },
      providers: proxies.map((p, i) => ({ name: ['primary', 'secondary', 'tertiary'][i], url: p.url })),
      quorum: 2,
      storage: { path: join(dir, 'settleproof.json') },
      merchants: [
        {
          id: 'acme',
          webhook_url: 'http://127.0.0.1:9/not-used-yet',
          webhook_secret: `whsec_${Buffer.from('settleproof-demo-webhook-secret').toString('base64')}`,
          api_key: 'demo-acme-api-key',
          receive_addresses: [merchantAddress],
          tokens: [token.address],
        },
      ],
    })
    const accepted: string[] = []
    const daemon = await startDaemon({
      config,
      logger: silentLogger(),
      handler: (event: ChainEvent) => {
        if (event.type !== 'logs') return
        for (const log of event.logs) {
          accepted.push(log.txHash)
          say(`✔ block ${log.blockNumber}  ${formatUnits(log.value)} TUSD → acme  tx ${log.txHash.slice(0, 12)}…  agreed by ${log.providers.join(' + ')}`)
        }
      },
    })
    const disagreements = new Map<string, number>()
    daemon.reader.onDisagreement((d) => disagreements.set(d.provider, (disagreements.get(d.provider) ?? 0) + 1))
    cleanup.unshift(() => daemon.stop())

    const paid: string[] = []
    for (const amount of PAYMENTS) {
      paid.push(await token.transfer(payer!, merchantAddress!, amount))
      say(`→ payer sent ${formatUnits(amount.toString())} TUSD`)
    }
    const deadline = Date.now() + DEADLINE_MS
    while (!paid.every((hash) => accepted.includes(hash)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))

    const status = daemon.reader.status()
    const missing = paid.filter((hash) => !accepted.includes(hash))
    say('')
    say('Summary')
    say(`  payments accepted under 2-of-3 quorum: ${paid.length - missing.length}/${paid.length}`)
    say(`  answers rejected as disagreeing: ${[...disagreements].map(([p, n]) => `${p} ×${n}`).join(', ') || 'none'}`)
    say(`  checkpoint (last_processed_block): ${status.checkpoint}, chain head: ${status.head}`)
    say(`  providers: ${status.providers.map((p) => `${p.name} ${p.state}`).join(', ')}`)
    return missing.length === 0 && (disagreements.get('tertiary') ?? 0) > 0 ? EXIT.ok : EXIT.failure
  } finally {
    for (const step of cleanup) await step().catch(() => undefined)
  }
}

function formatUnits(value: string): string {
  const units = value.padStart(7, '0')
  return `${units.slice(0, -6)}.${units.slice(-6)}`.replace(/\.?0+$/, '')
}
