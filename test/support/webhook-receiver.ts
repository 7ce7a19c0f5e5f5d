/** The demo's webhook-receiver (src/demo/), shared with the tests. */
export * from '../../src/demo/webhook-receiver.ts'
