import { dirname, join } from 'node:path'
import type { OpenLowdbStoreParameters } from '../../src/store/lowdb/lowdb-store.ts'

/** A lowdb store at `path`, its dead letters in `dlq.jsonl` beside it (as the configuration's defaults place them). */
export function lowdbFiles(path: string): OpenLowdbStoreParameters {
  return { path, dlqPath: join(dirname(path), 'dlq.jsonl') }
}
