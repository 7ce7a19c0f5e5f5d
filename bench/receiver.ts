import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export type ReceiverStats = { received: number; delivered: number; unverified: number; arrivals: { id: string; tx: string; at: number; status: number | string }[] }

/** Handle on the receiver process. */
export type BenchReceiver = { url: string; stats(since?: number): Promise<ReceiverStats>; reset(): Promise<void>; stop(): Promise<void> }

export async function startBenchReceiver(secrets: Record<string, string>): Promise<BenchReceiver> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./receiver-process.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ask = <T>(command: unknown, key: string) =>
    new Promise<T>((resolve) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (key in message) {
          child.off('message', onMessage)
          resolve(message[key] as T)
        }
      }
      child.on('message', onMessage)
      child.send(command as object)
    })
  const url = await ask<string>({ secrets }, 'url')
  return {
    url,
    stats: (since) => ask<ReceiverStats>({ stats: true, since }, 'stats'),
    reset: () => ask<void>({ reset: true }, 'ok'),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.send({ stop: true })
      }),
  }
}
