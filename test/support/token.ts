/** The demo's token (src/demo/), shared with the tests. */
export * from '../../src/demo/token.ts'
