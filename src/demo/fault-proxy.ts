import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readBody } from './read-body.ts'
import type { Socket } from 'node:net'

/** What the proxy does to the requests it receives, optionally only for some methods. */
export type Fault = (
  | { kind: 'none' }
  /** Resets every connection: a provider that is down. */
  | { kind: 'down' }
  /** Holds each answer back this long: a provider slower than the timeout. */
  | { kind: 'slow'; delayMs: number }
  /** Accepts the request and never answers (until the client gives up or the proxy closes): a hung provider. */
  | { kind: 'hang' }
  /** Answers with this HTTP status and body (500, 429, an HTML error page). */
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  /** HTTP 200 with a body that is not JSON. */
  | { kind: 'garbage' }
  /** HTTP 200 with a JSON-RPC error. */
  | { kind: 'rpc-error'; code: number; message: string }
  /**
   * eth_getLogs spans wider than `maxSpan` blocks get a "range too large" JSON-RPC error,
   * worded as `wording` says (default `unstated`: a message that names no usable span).
   */
  | { kind: 'range-limit'; maxSpan: number; wording?: RangeLimitWording }
  /** eth_blockNumber reports a head this many blocks behind: a lagging provider. */
  | { kind: 'lag'; blocks: number }
  /** eth_chainId reports another chain. */
  | { kind: 'chain-id'; chainId: number }
  /** Forwards, then alters the answer to eth_getLogs (and eth_getBlockByNumber for block-hash). */
  | { kind: 'lie'; lie: 'amount' | 'fabricate' | 'omit' | 'block-hash' }
) & { methods?: string[] }

/**
 * How a `range-limit` fault words its refusal: `unstated` names no span the reader can use;
 * the others are real providers' wordings that state the limit, each meaning `maxSpan` blocks
 * the way that provider means it (QuickNode's and thirdweb's numbers are toBlock − fromBlock).
 */
export type RangeLimitWording = 'unstated' | 'alchemy' | 'infura' | 'quicknode' | 'thirdweb'

/** A refusal as a provider of that `wording` answers it: HTTP status, JSON-RPC code and message. */
function rangeLimitRefusal(wording: RangeLimitWording, refused: { fromBlock: bigint; toBlock: bigint }, maxSpan: number): { status: number; code: number; message: string } {
  const span = refused.toBlock - refused.fromBlock + 1n
  const fits = `[0x${refused.fromBlock.toString(16)}, 0x${(refused.fromBlock + BigInt(maxSpan) - 1n).toString(16)}]`
  switch (wording) {
    case 'unstated':
      return { status: 200, code: -32005, message: `block range too large: ${span} > ${maxSpan}` }
    case 'alchemy':
      return { status: 200, code: -32600, message: `You can make eth_getLogs requests with up to a ${maxSpan} block range. Based on your parameters, this block range should work: ${fits}` }
    case 'infura':
      return { status: 200, code: -32005, message: `query returned more than 10000 results. Try with this block range ${fits}.` }
    case 'quicknode':
      return { status: 413, code: -32614, message: `eth_getLogs is limited to a ${(maxSpan - 1).toLocaleString('en-US')} range` }
    case 'thirdweb':
      return { status: 200, code: -32602, message: `Maximum allowed number of requested blocks is ${maxSpan - 1}` }
  }
}

/** A JSON-RPC proxy in front of anvil that the tests own, one per provider. */
export type FaultProxy = {
  url: string
  /** Requests received, by JSON-RPC method, faulted or not. */
  readonly requests: Map<string, number>
  totalRequests(method?: string): number
  /** eth_getLogs requests a `range-limit` fault refused as too large. */
  rangeRefusals(): number
  setFault(fault: Fault): void
  resetCounts(): void
  /** Requests held back by a `slow` or `hang` fault and not answered yet (a request the client gave up on is no longer held). */
  held(): number
  close(): Promise<void>
}

const FAKE_HASH = `0x${'ee'.repeat(32)}`

export async function startFaultProxy(upstream: string, initial: Fault = { kind: 'none' }): Promise<FaultProxy> {
  let fault = initial
  const requests = new Map<string, number>()
  let rangeRefusals = 0
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const hung = new Set<ServerResponse>()

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req)
    let call: { id?: unknown; method?: string; params?: unknown[] } = {}
    try {
      call = JSON.parse(body)
    } catch {
      // Forwarded as is: anvil answers malformed requests itself.
    }
    const method = call.method ?? '?'
    requests.set(method, (requests.get(method) ?? 0) + 1)
    const active = fault.methods === undefined || fault.methods.includes(method) ? fault : ({ kind: 'none' } as Fault)
    const reply = (status: number, text: string, contentType = 'application/json') => {
      if (res.destroyed) return
      res.writeHead(status, { 'content-type': contentType })
      res.end(text)
    }
    const rpcReply = (result: unknown) => reply(200, JSON.stringify({ jsonrpc: '2.0', id: call.id, result }))

    switch (active.kind) {
      case 'down':
        req.socket.destroy()
        return
      case 'status':
        return reply(active.status, active.body ?? '', active.contentType ?? 'text/html')
      case 'garbage':
        return reply(200, '<<<not json>>>', 'text/plain')
      case 'rpc-error':
        return reply(200, JSON.stringify({ jsonrpc: '2.0', id: call.id, error: { code: active.code, message: active.message } }))
      case 'chain-id':
        if (method === 'eth_chainId') return rpcReply(`0x${active.chainId.toString(16)}`)
        break
      case 'lag':
        if (method === 'eth_blockNumber') {
          const answer = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          const { result } = (await answer.json()) as { result: string }
          return rpcReply(`0x${Math.max(0, Number(BigInt(result)) - active.blocks).toString(16)}`)
        }
        break
      case 'range-limit':
        if (method === 'eth_getLogs') {
          const filter = (call.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string }
          const refused = { fromBlock: BigInt(filter.fromBlock ?? '0x0'), toBlock: BigInt(filter.toBlock ?? '0x0') }
          if (refused.toBlock - refused.fromBlock + 1n > BigInt(active.maxSpan)) {
            rangeRefusals++
            const { status, code, message } = rangeLimitRefusal(active.wording ?? 'unstated', refused, active.maxSpan)
            return reply(status, JSON.stringify({ jsonrpc: '2.0', id: call.id, error: { code, message } }))
          }
        }
        break
      case 'hang':
        hung.add(res)
        res.on('close', () => hung.delete(res))
        return
      case 'slow':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer)
            resolve()
          }, active.delayMs)
          timers.add(timer)
        })
        break
    }

    let upstreamText: string
    try {
      const answer = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      upstreamText = await answer.text()
    } catch {
      req.socket.destroy()
      return
    }
    if (active.kind === 'lie') {
      const parsed = JSON.parse(upstreamText) as { result?: unknown }
      if (method === 'eth_getLogs' && Array.isArray(parsed.result)) parsed.result = lieAboutLogs(active.lie, parsed.result, call.params?.[0])
      if (method === 'eth_getBlockByNumber' && active.lie === 'block-hash' && parsed.result) (parsed.result as { hash: string }).hash = FAKE_HASH
      upstreamText = JSON.stringify(parsed)
    }
    reply(200, upstreamText)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    totalRequests: (method) => (method === undefined ? [...requests.values()].reduce((a, b) => a + b, 0) : (requests.get(method) ?? 0)),
    rangeRefusals: () => rangeRefusals,
    setFault(next) {
      fault = next
    },
    resetCounts() {
      requests.clear()
      rangeRefusals = 0
    },
    held: () => timers.size + hung.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

type RawLog = { transactionHash: string; blockNumber: string; blockHash: string; logIndex: string; address: string; topics: string[]; data: string }

function lieAboutLogs(lie: 'amount' | 'fabricate' | 'omit' | 'block-hash', logs: RawLog[], filter: unknown): RawLog[] {
  switch (lie) {
    case 'amount':
      return logs.map((log) => ({ ...log, data: `0x${(BigInt(log.data) * 10n + 7n).toString(16).padStart(64, '0')}` }))
    case 'omit':
      return logs.slice(0, -1)
    case 'block-hash':
      return logs.map((log) => ({ ...log, blockHash: FAKE_HASH }))
    case 'fabricate': {
      const f = filter as { fromBlock: string; address?: string | string[]; topics?: (string | string[] | null)[] }
      const token = Array.isArray(f.address) ? f.address[0] : f.address
      const toTopic = f.topics?.[2]
      const to = Array.isArray(toTopic) ? toTopic[0] : toTopic
      if (!token || !to) return logs
      const forged: RawLog = {
        transactionHash: `0x${'f0'.repeat(32)}`,
        blockNumber: f.fromBlock,
        blockHash: logs.find((log) => log.blockNumber === f.fromBlock)?.blockHash ?? FAKE_HASH,
        logIndex: '0x63',
        address: token,
        topics: [f.topics?.[0] as string, `0x${'00'.repeat(12)}${'ab'.repeat(20)}`, to],
        data: `0x${(1_000_000n).toString(16).padStart(64, '0')}`,
      }
      return [forged, ...logs]
    }
  }
}
