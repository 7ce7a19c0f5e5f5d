// A child process for storage-fault tests, run under `ulimit -f` so the disk fills for real:
// commits invoices to a lowdb store in groups of concurrent transactions until one fails, then
// tries to read what failed, and prints one JSON report on stdout.
import { openLowdbStore } from '../../src/store/lowdb/lowdb-store.ts'
import { lowdbFiles } from './lowdb-files.ts'
import type { Invoice } from '../../src/settlement/invoice.ts'

const path = process.argv[2]
if (!path) throw new Error('usage: store-fault-writer.ts STORE_PATH')
const GROUP = 8

const invoice = (i: number): Invoice => ({
  uuid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
  merchantId: 'acme',
  token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  amount: String(1_000 + i),
  receiveAddress: null,
  payer: null,
  expiresAt: null,
  createdAt: new Date(0).toISOString(),
  status: 'open',
  requestHash: `request-${i}`,
  settlement: null,
  delivery: null,
  reverted: [],
})
const outcome = (fn: () => unknown) => {
  try {
    const value = fn()
    return value instanceof Promise ? value.then((v: unknown) => ({ value: v ?? null }), (e: { code?: string }) => ({ threw: e.code ?? 'error' })) : Promise.resolve({ value: value ?? null })
  } catch (error) {
    return Promise.resolve({ threw: (error as { code?: string }).code ?? 'error' })
  }
}

const store = await openLowdbStore(lowdbFiles(path))
let failedCode: string | null = null
void (store.failed as Promise<never> | undefined)?.catch((error: { code?: string }) => (failedCode = error.code ?? 'error'))
const acknowledged: string[] = []
const refused: string[] = []
const seenBeforeDurable: string[] = []
/** `GET /v1/invoices?limit=1`: all share one creation time, so the newest is the highest uuid, the last committed. */
const newestOne = { status: null, createdAfter: null, createdBefore: null, limit: 1, after: null }
// Bounded: the file size limit is reached long before.
for (let next = 0; next < 20_000 && refused.length === 0; next += GROUP) {
  const group = Array.from({ length: GROUP }, (_, k) => invoice(next + k))
  const commits = group.map((inv) => store.transact((tx) => tx.putInvoice(inv)))
  // Reads that answer a client, made while the group is in memory but not yet on disk. The last
  // of the group is refused whenever any of it is (no write follows a failed one).
  const last = group.at(-1)!.uuid
  const peeks = [store.transact(async (tx) => (await tx.getInvoice(last))?.uuid), store.findInvoice(last).then((i) => i?.uuid), store.listInvoices('acme', newestOne, 0).then((r) => r.invoices[0]?.uuid)]
  const results = await Promise.allSettled(commits)
  for (const [k, result] of results.entries()) (result.status === 'fulfilled' ? acknowledged : refused).push(group[k]!.uuid)
  for (const peek of await Promise.allSettled(peeks)) if (peek.status === 'fulfilled' && peek.value === last) seenBeforeDurable.push(last)
}
/** Invoices a read returned although their commit then failed: must stay empty. */
const servedButLost = seenBeforeDurable.filter((uuid) => refused.includes(uuid))
const lost = refused[0]!
const report = {
  acknowledged,
  refused,
  servedButLost,
  read: await outcome(() => store.read(async (r) => (await r.getInvoice(lost))?.uuid)),
  has: await outcome(() => store.findInvoice(lost).then((i) => i !== undefined)),
  find: await outcome(() => store.findInvoice(lost).then((i) => i?.uuid)),
  list: await outcome(() => store.listInvoices('acme', newestOne, 0).then((r) => r.invoices.length)),
  retry: await outcome(() => store.transact(async (tx) => (await tx.getInvoice(lost))?.uuid ?? (tx.putInvoice(invoice(999_999)), 'put'))),
  isOpen: store.availability().available,
  failed: failedCode,
}
await store.close()
process.stdout.write(`${JSON.stringify(report)}\n`)
