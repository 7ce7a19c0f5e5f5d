import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

/** The Debian tool must be installed (.ci/run installs it); a missing tool fails, it is never skipped. */
async function tool(name: string, debianPackage: string, args: string[], cwd = root) {
  try {
    return await run(name, args, { cwd })
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string }
    if (e.code === 'ENOENT') throw new Error(`${name} is not installed: apt-get install ${debianPackage} (.ci/run does)`)
    throw new Error(`${name} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
}

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', async () => {
    const { stdout } = await tool('promtool', 'prometheus', ['check', 'rules', 'deploy/prometheus/alerts.yml'])
    expect(stdout).toContain('SUCCESS: 7 rules found')
  })
  it('passes its unit tests (promtool test rules), one or more per alert', async () => {
    const { stdout } = await tool('promtool', 'prometheus', ['test', 'rules', 'deploy/prometheus/alerts.test.yml'])
    expect(stdout).toContain('SUCCESS')
    const tests = await readFile(join(root, 'deploy/prometheus/alerts.test.yml'), 'utf8')
    for (const alert of ['SettleProofBreakerOpen', 'SettleProofBreakerFlapping', 'SettleProofProviderRefused', 'SettleProofQuorumFailures', 'SettleProofCheckpointLag', 'SettleProofDLQGrowth', 'SettleProofWebhookSuccessRateLow']) {
      expect(tests).toContain(`alertname: ${alert}`)
    }
  })
})

describe('deploy/systemd/settleproof.service', () => {
  it('passes systemd-analyze verify with no warning (paths pointed at this checkout)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'settleproof-unit-'))
    try {
      const unit = (await readFile(join(root, 'deploy/systemd/settleproof.service'), 'utf8'))
        .replaceAll('/opt/settleproof', root.replace(/\/$/, ''))
        .replace('/etc/settleproof/settleproof.env', join(dir, 'settleproof.env'))
      await writeFile(join(dir, 'settleproof.env'), '')
      await writeFile(join(dir, 'settleproof.service'), unit)
      const { stdout, stderr } = await tool('systemd-analyze', 'systemd', ['verify', join(dir, 'settleproof.service')])
      expect(stdout + stderr).toBe('')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
  it('restarts on failure but not on a configuration error, reads secrets from an EnvironmentFile, and is hardened', async () => {
    const unit = await readFile(join(root, 'deploy/systemd/settleproof.service'), 'utf8')
    for (const line of ['Restart=on-failure', 'RestartPreventExitStatus=78', 'EnvironmentFile=', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/settleproof', 'KillSignal=SIGTERM']) {
      expect(unit).toContain(line)
    }
  })
})

describe('Dockerfile (no Docker engine here: checked line by line)', () => {
  it('is multi-stage, installs production dependencies only, runs as non-root with a healthcheck, a data volume and node as PID 1', async () => {
    const lines = (await readFile(join(root, 'Dockerfile'), 'utf8')).split('\n').filter((l) => !l.startsWith('#'))
    const text = lines.join('\n')
    expect(lines.filter((l) => l.startsWith('FROM ')).length).toBeGreaterThanOrEqual(2)
    expect(text).toMatch(/npm install --omit=dev/)
    expect(text).toMatch(/COPY --from=deps/)
    const user = lines.filter((l) => l.startsWith('USER ')).at(-1)
    expect(user).toBeDefined()
    expect(user).not.toMatch(/root|\b0\b/)
    expect(text).toMatch(/HEALTHCHECK[\s\S]*\/healthz/)
    expect(text).toMatch(/VOLUME \["\/data"\]/)
    expect(text).toMatch(/ENTRYPOINT \["node", "bin\/settleproof.js"\]/)
    // Every file the image copies exists.
    for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
      for (const source of line.replace('COPY ', '').split(/\s+/).slice(0, -1)) expect(existsSync(join(root, source)), source).toBe(true)
    }
  })
})
