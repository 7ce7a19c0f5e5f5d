/** The demo's anvil (src/demo/), shared with the tests. */
export * from '../../src/demo/anvil.ts'
