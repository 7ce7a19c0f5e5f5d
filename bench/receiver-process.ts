// The merchants' endpoint for the benchmarks, in its own process so that verifying signatures
// does not compete with the measured system for its event loop. It verifies every request with
// the standardwebhooks library (src/demo/webhook-receiver.ts) and answers over IPC.
import { startWebhookReceiver } from '../src/demo/webhook-receiver.ts'

type Command = { secrets: Record<string, string> } | { stats: true; since?: number } | { reset: true } | { stop: true }

let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined
process.on('message', async (command: Command) => {
  if ('secrets' in command) {
    receiver = await startWebhookReceiver(command.secrets)
    process.send!({ url: receiver.url })
  } else if ('stats' in command) {
    const received = receiver!.received
    process.send!({
      stats: {
        received: received.length,
        delivered: received.filter((r) => typeof r.status === 'number' && r.status < 300).length,
        unverified: received.filter((r) => !r.verified).length,
        arrivals: received.slice(command.since ?? 0).map((r) => ({ id: r.webhookId, tx: r.payload.data.tx_hash, at: r.at, status: r.status })),
      },
    })
  } else if ('reset' in command) {
    receiver!.received.length = 0
    process.send!({ ok: true })
  } else {
    await receiver?.close()
    process.exit(0)
  }
})
