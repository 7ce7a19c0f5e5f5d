// Compiles contracts/TestToken.sol with solc-js into contracts/TestToken.json.
// `--check` compiles and compares instead of writing, so a test can prove the committed
// artifact is exactly what the committed source compiles to.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const sourcePath = fileURLToPath(new URL('../contracts/TestToken.sol', import.meta.url))
const artifactPath = fileURLToPath(new URL('../contracts/TestToken.json', import.meta.url))

export function compileTestToken(): string {
  const input = {
    language: 'Solidity',
    sources: { 'TestToken.sol': { content: readFileSync(sourcePath, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { TestToken: ['abi', 'evm.bytecode.object'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input)))
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n'))
  const contract = output.contracts['TestToken.sol'].TestToken
  return `${JSON.stringify({ abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }, null, 2)}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const artifact = compileTestToken()
  if (process.argv.includes('--check')) {
    if (readFileSync(artifactPath, 'utf8') !== artifact) {
      console.error('contracts/TestToken.json is stale: run `npm run compile:token`')
      process.exit(1)
    }
  } else {
    writeFileSync(artifactPath, artifact)
  }
}
