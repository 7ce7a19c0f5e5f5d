import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { requireTool } from '../support/system-tool.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

/** Runs a Debian tool that `npm test` brought (scripts/test-tools.ts); a missing tool fails, it is never skipped. */
async function tool(name: string, args: string[], cwd = root) {
  try {
    return await run(requireTool(name), args, { cwd })
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string }
    throw new Error(`${name} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
}

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', async () => {
    const { stdout } = await tool('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml'])
    expect(stdout).toContain('SUCCESS: 7 rules found')
  })
  it('passes its unit tests (promtool test rules), one or more per alert', async () => {
    const { stdout } = await tool('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml'])
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
      const { stdout, stderr } = await tool('systemd-analyze', ['verify', join(dir, 'settleproof.service')])
      expect(stdout + stderr).toBe('')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
  it('never restarts a configuration error in a loop: only the main process may exit 78, and it is in RestartPreventExitStatus', async () => {
    // systemd applies RestartPreventExitStatus= to the main process only (systemd.service(5)); a
    // failing ExecStartPre= makes the start fail and Restart=on-failure starts it again. So no
    // pre-start command may be one that exits 78, and the main process must be `run`, which
    // validates the configuration and exits 78 itself (test/config/check-config.test.ts).
    const unit = await readFile(join(root, 'deploy/systemd/settleproof.service'), 'utf8')
    const directives = unit.split('\n').filter((line) => /^[A-Za-z]+=/.test(line))
    const pre = directives.filter((line) => /^(ExecStartPre|ExecCondition|ExecStartPost)=/.test(line))
    for (const line of pre) expect(line, line).not.toMatch(/settleproof\.js (check-config|run)/)
    const main = directives.filter((line) => line.startsWith('ExecStart='))
    expect(main).toHaveLength(1)
    expect(main[0]).toMatch(/settleproof\.js run$/)
    expect(directives).toContain('Restart=on-failure')
    expect(directives).toContain('RestartPreventExitStatus=78')
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
    expect(text).toMatch(/npm ci --omit=dev/)
    // Every base image pinned by digest (through the one ARG both stages use).
    for (const from of lines.filter((l) => l.startsWith('FROM '))) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\}( AS \w+)?$/)
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim@sha256:[0-9a-f]{64}$/m)
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
