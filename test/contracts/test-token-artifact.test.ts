import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { compileTestToken } from '../../scripts/compile-token.ts'

it('the committed TestToken artifact is exactly what contracts/TestToken.sol compiles to', () => {
  const committed = readFileSync(new URL('../../contracts/TestToken.json', import.meta.url), 'utf8')
  expect(compileTestToken()).toBe(committed)
})
