import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import got from 'got'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/anvil.ts'
import { runCli, startCli, waitForOutput, type CliResult } from '../support/cli.ts'
import { eventually } from '../support/daemon-harness.ts'

// The README's walkthrough, step by step, as a newcomer runs it: the example scripts and the real
// CLI as child processes. Only the ports differ (free ones instead of 8545, 3000 and 8787).
const examples = fileURLToPath(new URL('../../examples/', import.meta.url))
const SECRET = `whsec_${Buffer.from('walkthrough-secret-0123456789').toString('base64')}`
const API_KEY = 'walkthrough-api-key-0123'

type Child = ChildProcessWithoutNullStreams & { output: CliResult; exited: Promise<CliResult> }
const children: Child[] = []
let dir: string

/** An example script as a child process, its output collected like the CLI's. */
function example(script: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [join(examples, script), ...args], { env: { ...process.env, ...env } }) as Child
  child.output = { code: null, signal: null, stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => (child.output.stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (child.output.stderr += chunk))
  child.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(Object.assign(child.output, { code, signal }))))
  children.push(child)
  return child
}

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await Promise.all(children.map((child) => child.exited))
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('the README walkthrough (examples/ and the CLI, as a newcomer runs them)', () => {
  it('configures, checks, creates an invoice, pays it, sees the webhook and status, dead-letters and replays', async () => {
    dir = await mkdtemp(join(tmpdir(), 'settleproof-walkthrough-'))
    const chainPort = await freePort()
    const chain = example('local-chain.ts', ['--port', String(chainPort)])
    await waitForOutput(chain, /PAYER=/, 60_000)
    const printed = Object.fromEntries(chain.output.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))

    let receiver = example('webhook-receiver.ts', ['--port', '0'], { WEBHOOK_SECRET: SECRET })
    await waitForOutput(receiver, /listening on/)
    const receiverPort = Number(/:(\d+)/.exec(receiver.output.stdout)![1])
    const serverPort = await freePort()
    const config = join(dir, 'skill.yaml')
    await copyFile(join(examples, 'local.skill.yaml'), config)
    await writeFile(config, (await readFile(config, 'utf8')).replace('127.0.0.1:3000', `127.0.0.1:${receiverPort}`).replace(/port: \d+/, `port: ${serverPort}`))
    const env = [...['RPC_URL_1', 'RPC_URL_2', 'RPC_URL_3', 'TOKEN', 'MERCHANT_ADDRESS'].map((key) => `${key}=${printed[key]}`), `ACME_WEBHOOK_SECRET=${SECRET}`, `ACME_API_KEY=${API_KEY}`]
    await writeFile(join(dir, '.env'), `${env.join('\n')}\n`)

    const check = await runCli(['check-config', '--config', config, '--probe'])
    expect(check.stderr).toBe('')
    expect(check.code).toBe(0)
    expect(check.stdout).toContain('probe provider primary: ok: chain id 31337')

    const daemon = startCli(['run', '--config', config], { timeoutMs: 120_000 })
    children.push(daemon)
    await waitForOutput(daemon, /reading the chain/)
    const api = got.extend({ prefixUrl: `http://127.0.0.1:${serverPort}`, headers: { authorization: `Bearer ${API_KEY}` }, throwHttpErrors: false, retry: { limit: 0 } })

    const uuid = randomUUID()
    const created = await api.post('v1/invoices', { json: { uuid, token: printed.TOKEN, amount: '25000000' } })
    expect(created.statusCode).toBe(201)
    const paid = example('pay.ts', [printed.RPC_URL_1!, printed.TOKEN!, printed.MERCHANT_ADDRESS!, '25000000'])
    expect((await paid.exited).code).toBe(0)
    await waitForOutput(receiver, new RegExp(`invoice.settled \\S+ invoice ${uuid} amount 25000000`), 30_000)
    await eventually(async () => JSON.parse((await api.get(`v1/invoices/${uuid}`)).body).delivery?.status === 'delivered', 20_000, 'delivery recorded')
    expect(JSON.parse((await api.get(`v1/invoices/${uuid}`)).body).status).toBe('settled')
    const status = JSON.parse((await runCli(['status', '--json', '--config', config])).stdout)
    expect(status.invoices.settled).toBe(1)
    expect(status.deliveries.delivered).toBe(1)

    // The endpoint says 410 Gone: the event is dead-lettered at once; then replayed by hand.
    receiver.kill('SIGTERM')
    await receiver.exited
    receiver = example('webhook-receiver.ts', ['--port', String(receiverPort), '--status', '410'], { WEBHOOK_SECRET: SECRET })
    await waitForOutput(receiver, /listening on/)
    const second = randomUUID()
    expect((await api.post('v1/invoices', { json: { uuid: second, token: printed.TOKEN, amount: '7000000' } })).statusCode).toBe(201)
    expect((await example('pay.ts', [printed.RPC_URL_1!, printed.TOKEN!, printed.MERCHANT_ADDRESS!, '7000000']).exited).code).toBe(0)
    await eventually(async () => JSON.parse((await runCli(['dlq', 'list', '--json', '--config', config])).stdout).length === 1, 30_000, 'a dead letter')
    const [letter] = JSON.parse((await runCli(['dlq', 'list', '--json', '--config', config])).stdout) as { webhook_id: string }[]
    receiver.kill('SIGTERM')
    await receiver.exited
    receiver = example('webhook-receiver.ts', ['--port', String(receiverPort)], { WEBHOOK_SECRET: SECRET })
    await waitForOutput(receiver, /listening on/)
    const replay = await runCli(['dlq', 'replay', '--all', '--config', config])
    expect(replay.code).toBe(0)
    expect(receiver.output.stdout).toContain(`invoice.settled ${letter!.webhook_id} invoice ${second}`)

    daemon.kill('SIGTERM')
    expect((await daemon.exited).code).toBe(0)
  }, 240_000) // a dozen child processes, each starting Node: slow on a busy machine, bounded anyway
})
