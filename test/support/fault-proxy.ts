/** The demo's fault-proxy (src/demo/), shared with the tests. */
export * from '../../src/demo/fault-proxy.ts'
