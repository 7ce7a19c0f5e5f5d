import { createServer, type Server } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort, startAnvil, type Anvil } from '../support/anvil.ts'
import { runCli } from '../support/cli.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'

// Real endpoints on 127.0.0.1: anvil (a healthy provider), a closed port (refused), a plain HTTP
// port reached over https:// (TLS fails), and one HTTP server playing a key-protected provider
// (401), a provider of another chain, and two merchant endpoints (up, and down with 503).
// DNS failures are not tried: tests reach no resolver, only 127.0.0.1.
let anvil: Anvil
let server: Server
let port: number
let closedPort: number
let dir: string

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 31337 })
  server = createServer((request, response) => {
    if (request.url === '/rpc-401') return void response.writeHead(401).end('unauthorized')
    if (request.url === '/hook-down') return void response.writeHead(503).end()
    if (request.url === '/hook-up') return void response.writeHead(request.method === 'HEAD' ? 405 : 200).end()
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk))
    request.on('end', () => {
      const call = JSON.parse(body) as { id: number; method: string }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: call.method === 'eth_chainId' ? '0x1' : '0x10' }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
  closedPort = await freePort()
  dir = await mkdtemp(join(tmpdir(), 'settleproof-probe-'))
})

afterAll(async () => {
  await anvil?.stop()
  await new Promise((resolve) => server?.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

describe('settleproof check-config --probe (real CLI, real endpoints)', () => {
  it('names each endpoint that fails and how, never its URL; exit 1 when one failed', async () => {
    const token = '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'
    const document = {
      chain: { id: 31337 },
      providers: [
        { name: 'healthy', url: anvil.url },
        { name: 'refusing', url: `http://127.0.0.1:${closedPort}/key-refusing-0001` },
        { name: 'keyed', url: `http://127.0.0.1:${port}/rpc-401` },
        { name: 'otherchain', url: `http://127.0.0.1:${port}/rpc-chain-1` },
        { name: 'tls', url: `https://127.0.0.1:${port}/key-tls-0002` },
      ],
      merchants: [
        { id: 'up', webhook_url: `http://127.0.0.1:${port}/hook-up`, webhook_secret: TEST_WEBHOOK_SECRET, api_key: 'up-api-key-0123', receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: [token] },
        { id: 'down', webhook_url: `http://127.0.0.1:${port}/hook-down`, webhook_secret: TEST_WEBHOOK_SECRET, api_key: 'down-api-key-0123', receive_addresses: ['0x2222222222222222222222222222222222222222'], tokens: [token] },
      ],
    }
    const path = join(dir, 'skill.yaml')
    await writeFile(path, stringify(document))
    const result = await runCli(['check-config', '--config', path, '--probe'])
    const lines = result.stdout.split('\n')
    expect(lines).toContain('probe provider healthy: ok: chain id 31337, head 0')
    expect(lines).toContain('probe provider refusing: FAILED: connection refused')
    expect(lines).toContain('probe provider keyed: FAILED: HTTP 401')
    expect(lines).toContain('probe provider otherchain: FAILED: reports chain id 1, chain.id is 31337')
    expect(lines.find((line) => line.startsWith('probe provider tls: '))).toMatch(/^probe provider tls: FAILED: TLS failed \([A-Z_]+\)$/)
    expect(lines).toContain('probe merchant up: ok: HTTP 405 to HEAD')
    expect(lines).toContain('probe merchant down: FAILED: HTTP 503 to HEAD')
    expect(result.code).toBe(1)
    for (const secret of ['key-refusing-0001', 'key-tls-0002', '/rpc-401', '/hook-', String(closedPort)]) expect(result.stdout + result.stderr).not.toContain(secret)

    // Without --probe nothing is contacted and a valid file exits 0.
    const plain = await runCli(['check-config', '--config', path])
    expect(plain.code).toBe(0)
    expect(plain.stdout).not.toMatch(/^probe /m)
  })
})
