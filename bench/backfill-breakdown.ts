// node bench/backfill-breakdown.ts: where a backfill's time goes on each backend. One honest
// backfill (the bench's chain: 20,100 transfers, ranges of 1,000 blocks) per backend, with
// webhook delivery running as in `npm run bench` and with it held (the outbox worker stopped
// before the first range), printing the time, the store's transactions (count, summed time,
// longest) and, on PostgreSQL, the statements by kind with the serialization failures
// (`failed 40001`). BENCH_REPETITIONS (default 1) runs each case more times.
import { startBenchBackends, BACKENDS } from './backends.ts'
import { benchConfig, secretOf } from './backfill.ts'
import { prepareChain } from './chain.ts'
import { measure, runWorker } from './lib.ts'
import { startBenchReceiver } from './receiver.ts'

const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 1)
const chain = await prepareChain(2_010, 10)
const receiver = await startBenchReceiver({ '/acme': secretOf('acme'), '/globex': secretOf('globex') })
const backends = await startBenchBackends(true)
try {
  for (let r = 0; r < REPETITIONS; r++) {
    for (const holdDelivery of [false, true]) {
      for (const backend of BACKENDS) {
        const label = `${backend}, delivery ${holdDelivery ? 'held' : 'running'}`
        const result = await measure(label, () => backends.withPlace(backend, (place) => runWorker('settleproof-backfill', { config: benchConfig(chain, receiver.url, place), payments: chain.payments, token: chain.token.address, holdDelivery })))
        if ('failed' in result) continue
        console.log(`${label}: ${(result.elapsedMs / 1000).toFixed(1)} s, ${Math.round((result.events / result.elapsedMs) * 1000)} events/s`)
        console.log(`  transactions: ${JSON.stringify(result.extra?.transactions)}`)
        if (result.extra?.statements) console.log(`  statements: ${JSON.stringify(result.extra.statements)}`)
        await receiver.reset()
      }
    }
  }
} finally {
  await backends.close()
  await receiver.stop()
  await chain.close()
}
