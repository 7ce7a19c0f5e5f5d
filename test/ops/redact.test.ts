import { describe, expect, it } from 'vitest'
import { REDACTED, displayUrl, maskSecrets, redactText, urlSecrets } from '../../src/ops/redact.ts'

const KEY = 'Zq8vK3xW9pL2mN7bR4tY6uH1jF5cD0' // 30 characters
const URL_WITH_KEY = `https://rpc.example.net/v3/project?apikey=${KEY}`

/** Every piece of 4 or more characters of the secret: none may be shown. */
function fragments(secret: string): string[] {
  const out: string[] = []
  for (let length = 4; length <= secret.length; length++) for (let start = 0; start + length <= secret.length; start++) out.push(secret.slice(start, start + length))
  return out
}

describe('redactText: mask first, cut after', () => {
  const error168 = `execution reverted: ${'quota exceeded for this project, '.repeat(5)}`.slice(0, 168)
  it.each([
    ['a key split by the cut (168-char error, then the key)', `${error168}, k=${KEY}`],
    ['a key at the start', `${KEY} is not allowed ${'x'.repeat(250)}`],
    ['a key far past the cut', `${'y'.repeat(400)} ${KEY}`],
    ['the whole URL in the message', `${'z'.repeat(190)} ${URL_WITH_KEY}`],
  ])('%s: no piece of the key is shown', (_label, text) => {
    const shown = redactText(text, urlSecrets(URL_WITH_KEY), 200)
    expect(shown.length).toBeLessThanOrEqual(201)
    for (const piece of fragments(KEY)) expect(shown).not.toContain(piece)
  })

  it('keeps what carries no secret, and marks the cut', () => {
    expect(redactText('plain', [KEY], 200)).toBe('plain')
    expect(redactText('a'.repeat(300), [KEY], 200)).toBe(`${'a'.repeat(200)}…`)
    expect(redactText(`${'a'.repeat(195)}${KEY}`, [KEY], 200)).toBe(`${'a'.repeat(195)}…`)
  })
})

describe('maskSecrets', () => {
  it.each([
    ['whole occurrences', `x ${KEY} y ${KEY}`, `x ${REDACTED} y ${REDACTED}`],
    ['a text already cut inside the key (its start at the end)', `error: ${KEY.slice(0, 28)}`, `error: ${REDACTED}`],
    ['a text already cut inside the key (its end at the start)', `${KEY.slice(5)} was refused`, `${REDACTED} was refused`],
    ['a piece shorter than 4 characters is left', `error: ${KEY.slice(0, 3)}`, `error: ${KEY.slice(0, 3)}`],
    ['no secret', 'nothing here', 'nothing here'],
  ])('%s', (_label, text, expected) => {
    expect(maskSecrets(text, [KEY])).toBe(expected)
  })
})

describe('displayUrl: a webhook URL as shown', () => {
  it.each([
    ['https://hooks.example.com/settleproof', 'https://hooks.example.com/settleproof'],
    ['https://user:p4ss-w0rd@hooks.example.com:8443/in?token=tok_abc123&v=2', `https://${REDACTED}@hooks.example.com:8443/in?token=${REDACTED}&v=${REDACTED}`],
    ['http://127.0.0.1:9/x?secretonly', `http://127.0.0.1:9/x?${REDACTED}`],
    ['not a url', REDACTED],
  ])('%s', (url, expected) => {
    expect(displayUrl(url)).toBe(expected)
  })
})
