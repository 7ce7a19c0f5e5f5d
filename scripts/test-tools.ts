// Brings the Debian tools the test suite runs (`npm test` calls this first), so that the README's
// test command passes on a fresh machine that has none of them. Each tool is looked up on PATH,
// then in the project's own cache; a missing one is fetched and the script says what it does:
// - promtool (a static binary): `apt-get download prometheus` into the cache, with apt's lists
//   kept in the cache too, so it needs no root and installs nothing on the system;
// - systemd-analyze (linked against systemd's private libraries and reading its unit search
//   path) and chromium (the operator console's browser tests drive /usr/bin/chromium with
//   playwright-core, which never downloads a browser): installed with apt-get when running as
//   root (CI, containers); otherwise the script says which package to install;
// - PostgreSQL's server (initdb, pg_ctl under /usr/lib/postgresql/<major>/bin, and the
//   `postgres` user it runs as): the same, Debian's `postgresql` package. The tests start
//   throwaway clusters from it (test/support/postgres.ts).
// Tests find the tools with test/support/system-tool.ts, which reads the same cache.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { CACHE_BIN, CACHE_ROOT, findPostgresBinDir, findTool } from '../test/support/system-tool.ts'

/** `find` locates a tool that is not on PATH (default: `findTool(command)`). */
type Tool = { command: string; debianPackage: string; why: string; pathInPackage?: string; find?: () => string | undefined }

const TOOLS: Tool[] = [
  { command: 'promtool', debianPackage: 'prometheus', why: 'alert rule and metrics format tests', pathInPackage: 'usr/bin/promtool' },
  { command: 'systemd-analyze', debianPackage: 'systemd', why: 'systemd unit test' },
  { command: 'initdb', debianPackage: 'postgresql', why: 'the PostgreSQL store tests (a throwaway cluster)', find: findPostgresBinDir },
  { command: 'chromium', debianPackage: 'chromium', why: 'operator console browser tests' },
]

const say = (line: string) => process.stdout.write(`test-tools: ${line}\n`)
const isRoot = process.getuid?.() === 0

function apt(args: string[]): void {
  execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

/** apt-get with its package lists and downloads in the cache: runs as any user, touches nothing outside it. */
function privateApt(args: string[]): void {
  const lists = join(CACHE_ROOT, 'apt-lists')
  const archives = join(CACHE_ROOT, 'apt-archives')
  for (const dir of [join(lists, 'partial'), join(archives, 'partial')]) mkdirSync(dir, { recursive: true })
  const options = ['-qq', '-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache::archives=${archives}`, '-o', 'Debug::NoLocking=1']
  // apt hands downloads to its _apt user, which cannot write into a user's cache: download as ourselves.
  options.push('-o', `APT::Sandbox::User=${userInfo().username}`)
  execFileSync('apt-get', [...options, ...args], { cwd: archives, stdio: ['ignore', 'ignore', 'inherit'] })
}

let privateListsFresh = false

function download(tool: Tool & { pathInPackage: string }): void {
  say(`${tool.command} (${tool.why}) is not installed: fetching Debian's ${tool.debianPackage} package into ${CACHE_ROOT}, no system install`)
  if (!privateListsFresh) {
    privateApt(['update'])
    privateListsFresh = true
  }
  const archives = join(CACHE_ROOT, 'apt-archives')
  privateApt(['download', tool.debianPackage])
  const deb = readdirSync(archives).find((name) => name.startsWith(`${tool.debianPackage}_`) && name.endsWith('.deb'))
  if (deb === undefined) throw new Error(`apt-get download ${tool.debianPackage} left no package`)
  const root = join(CACHE_ROOT, tool.debianPackage)
  rmSync(root, { recursive: true, force: true })
  execFileSync('dpkg-deb', ['-x', join(archives, deb), root])
  rmSync(join(archives, deb))
  rmSync(join(CACHE_ROOT, 'apt-lists'), { recursive: true, force: true })
  privateListsFresh = false
  mkdirSync(CACHE_BIN, { recursive: true })
  rmSync(join(CACHE_BIN, tool.command), { force: true })
  symlinkSync(join(root, tool.pathInPackage), join(CACHE_BIN, tool.command))
}

let systemListsFresh = false

function install(tool: Tool): void {
  say(`${tool.command} (${tool.why}) is not installed: apt-get install ${tool.debianPackage}`)
  if (!systemListsFresh) {
    apt(['update', '-qq'])
    systemListsFresh = true
  }
  apt(['install', '-y', '-qq', '--no-install-recommends', tool.debianPackage])
}

let missing = 0
const isPresent = (tool: Tool) => (tool.find ?? (() => findTool(tool.command)))() !== undefined
for (const tool of TOOLS) {
  if (isPresent(tool)) continue
  if (!existsSync('/usr/bin/apt-get')) say(`${tool.command} (${tool.why}) is missing and this is not a Debian machine: install ${tool.debianPackage}`)
  else if (tool.pathInPackage !== undefined) download({ ...tool, pathInPackage: tool.pathInPackage })
  else if (isRoot) install(tool)
  else say(`${tool.command} (${tool.why}) is missing: run "sudo apt-get install ${tool.debianPackage}" once, then npm test again`)
  if (!isPresent(tool)) missing++
}
process.exit(missing === 0 ? 0 : 1)
