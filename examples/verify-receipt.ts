// Re-checks a SettleProof webhook's receipt bundle on chain, with your own node and viem alone:
// the event's transaction exists, succeeded, sits in the block it names (number and hash), and
// holds at its log index an ERC-20 Transfer of that token from `from` to `to` for `amount`; and
// it says how many confirmations the payment has now.
//
//   node examples/verify-receipt.ts webhook-body.json https://your-own-node.example/rpc
//
// Exit 0 when every check passes, 1 when one fails (each check is printed), 2 on bad usage.
// Run it on the raw body you verified with `standardwebhooks` (a copy of it is fine).
import { readFileSync } from 'node:fs'
import { createPublicClient, decodeEventLog, http, parseAbiItem, type Hex } from 'viem'

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')

type ReceiptBundle = {
  chain_id: number
  token: Hex
  from: Hex
  to: Hex
  amount: string
  tx_hash: Hex
  block_number: number
  block_hash: Hex
  log_index: number
}

const [bodyPath, rpcUrl] = process.argv.slice(2)
if (bodyPath === undefined || rpcUrl === undefined) {
  process.stderr.write('usage: node examples/verify-receipt.ts WEBHOOK_BODY.json RPC_URL\n')
  process.exit(2)
}
const event = JSON.parse(readFileSync(bodyPath, 'utf8')) as { type: string; data: ReceiptBundle }
const data = event.data
const client = createPublicClient({ transport: http(rpcUrl) })

const checks: [string, boolean, string][] = []
const check = (name: string, ok: boolean, detail: string) => checks.push([name, ok, detail])
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

const chainId = await client.getChainId()
check('chain', chainId === data.chain_id, `node is on chain ${chainId}, the event says ${data.chain_id}`)
const receipt = await client.getTransactionReceipt({ hash: data.tx_hash }).catch(() => null)
if (receipt === null) check('transaction', false, `${data.tx_hash} is not on this chain (reorged away, or another chain)`)
else {
  check('transaction', receipt.status === 'success', `status ${receipt.status}`)
  check('block number', Number(receipt.blockNumber) === data.block_number, `mined in ${receipt.blockNumber}, the event says ${data.block_number}`)
  check('block hash', same(receipt.blockHash, data.block_hash), `block hash ${receipt.blockHash}`)
  const log = receipt.logs.find((entry) => entry.logIndex === data.log_index)
  if (log === undefined) check('log', false, `no log at index ${data.log_index} in the transaction`)
  else {
    check('token', same(log.address, data.token), `log emitted by ${log.address}`)
    try {
      const transfer = decodeEventLog({ abi: [transferEvent], data: log.data, topics: log.topics })
      check('from', same(transfer.args.from, data.from), `from ${transfer.args.from}`)
      check('to', same(transfer.args.to, data.to), `to ${transfer.args.to}`)
      check('amount', transfer.args.value.toString() === data.amount, `amount ${transfer.args.value} (base units)`)
    } catch {
      check('transfer', false, `the log at index ${data.log_index} is not an ERC-20 Transfer`)
    }
  }
  const head = await client.getBlockNumber()
  // The webhook's `confirmations` is the count when SettleProof accepted the log; this is now's.
  check('confirmations', true, `${head - receipt.blockNumber + 1n} now (the event said ${(event.data as { confirmations?: number }).confirmations ?? '-'} when accepted)`)
}

for (const [name, ok, detail] of checks) process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`)
process.exit(checks.every(([, ok]) => ok) ? 0 : 1)
