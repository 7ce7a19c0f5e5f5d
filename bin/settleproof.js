#!/usr/bin/env node
// The CLI is TypeScript run by Node's built-in type stripping (Node 22.18+). npm scripts and
// npx put the project's own Node 24 (the `node` package) first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`settleproof needs Node.js 22.18 or later, this is ${process.version}: run it through npm (npm start, npx settleproof ...), which uses the Node 24 that npm install brings`)
  process.exit(1)
}
const { main } = await import('../src/cli/main.ts')
const code = await main(process.argv.slice(2))
// A pipe takes a long output in pieces: exit only once what was written reached it, or its end is lost.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))))
// Exit as soon as the command is done: an abandoned webhook attempt after a drain timeout must not hold the process.
process.exit(code)
