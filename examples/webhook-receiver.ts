// A merchant endpoint to watch SettleProof's webhooks arrive: verifies each request with the
// `standardwebhooks` package (as your backend would), prints the event, and answers 204.
//
//   WEBHOOK_SECRET=whsec_... node examples/webhook-receiver.ts [--port 3000] [--status 410]
//
// `--status N` answers N instead (410 makes SettleProof dead-letter the event at once, to try
// `settleproof dlq list` and `dlq replay`).
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { Webhook } from 'standardwebhooks'

const { values } = parseArgs({ options: { port: { type: 'string', default: '3000' }, status: { type: 'string' } } })
const secret = process.env.WEBHOOK_SECRET
if (secret === undefined) {
  process.stderr.write('set WEBHOOK_SECRET to the merchant webhook_secret (whsec_...)\n')
  process.exit(2)
}
const webhook = new Webhook(secret)
const server = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    let event: { type: string; data: { invoice_uuid: string | null; amount: string; tx_hash: string; block_number: number } }
    try {
      event = webhook.verify(body, request.headers as Record<string, string>) as typeof event
    } catch {
      process.stdout.write('rejected: signature does not verify\n')
      return void response.writeHead(400).end()
    }
    const status = Number(values.status ?? 204)
    process.stdout.write(`${event.type} ${request.headers['webhook-id']} invoice ${event.data.invoice_uuid} amount ${event.data.amount} tx ${event.data.tx_hash} block ${event.data.block_number} -> ${status}\n`)
    response.writeHead(status).end()
  })
})
server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}\n`))
process.once('SIGINT', () => server.close())
process.once('SIGTERM', () => server.close())
