// Reads the real source tree: what a production install carries must not reach into test/.
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name))
}

/** Every relative module a file imports, statically or with `import()`, resolved to a path from the root. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8')
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!)
  return specifiers.map((s) => relative(ROOT, resolve(dirname(file), s)))
}

describe('source layout', () => {
  it('nothing under src/ imports from test/ (a production install carries no tests)', async () => {
    const offenders: string[] = []
    for (const file of await sourceFiles(join(ROOT, 'src'))) {
      for (const target of await importsOf(file)) if (target.startsWith('test/')) offenders.push(`${relative(ROOT, file)} → ${target}`)
    }
    expect(offenders).toEqual([])
  })
})
