import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CONSOLE_FILES } from '../../src/ops/console-pages.ts'
import { consoleSecurityHeaders, importMapHash } from '../../src/ops/console-security-headers.ts'

describe('the console\'s security headers', () => {
  it('allow the import map by the hash of its exact text, and refuse a page without one, or with two', () => {
    const map = '{"imports":{"preact":"./x.mjs"}}'
    const expected = `sha256-${createHash('sha256').update(map).digest('base64')}`
    expect(importMapHash(`<head><script type="importmap">${map}</script><script type="module" src="a.js"></script></head>`)).toBe(expected)
    expect(() => importMapHash('<script type="module" src="a.js"></script>')).toThrow(/exactly one import map/)
    expect(() => importMapHash(`<script type="importmap">${map}</script><script type="importmap">${map}</script>`)).toThrow(/exactly one import map/)
  })

  it('a policy with no inline script or style, no eval, no framing, requests to the daemon only', () => {
    const headers = consoleSecurityHeaders(['sha256-abc='])
    const csp = Object.fromEntries(headers['content-security-policy']!.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]))
    expect(csp).toEqual({
      'default-src': ["'none'"],
      'script-src': ["'self'", "'sha256-abc='"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'font-src': ["'self'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"],
      'object-src': ["'none'"],
    })
    expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'cross-origin-opener-policy': 'same-origin' })
  })

  it('the shipped page: one import map, every other script a file, no inline style, and every file it names is served', async () => {
    const page = await readFile(new URL(CONSOLE_FILES['/console']!.url), 'utf8')
    expect(() => importMapHash(page)).not.toThrow()
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    for (const [, attributes, body] of scripts) if (!/type="importmap"/.test(attributes!)) expect({ attributes, body }).toEqual({ attributes: expect.stringMatching(/\bsrc="/), body: '' })
    expect(page).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i)
    const named = [...page.matchAll(/(?:src|href)="(console\/[^"]+)"/g), ...page.matchAll(/"(\.\/console\/[^"]+)"/g)].map((m) => `/${m[1]!.replace(/^\.\//, '')}`)
    expect(named.length).toBeGreaterThanOrEqual(7)
    for (const path of named) expect(CONSOLE_FILES[path], path).toBeDefined()
    for (const file of Object.values(CONSOLE_FILES)) expect((await readFile(new URL(file.url))).length).toBeGreaterThan(0)
  })
})
