import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const here = import.meta.dirname ?? process.cwd()
/** The project's root, also when this file is bundled under node_modules/.cache (benchmarks). */
export const ROOT = here.includes('/node_modules/')
  ? here.slice(0, here.indexOf('/node_modules/'))
  : resolve(here, '..', '..')
export const CLI = resolve(ROOT, 'dist/cli.js')
export const ACTION = resolve(ROOT, 'dist/index.js')

export interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs a bundled entry with node, as a user or the runner would. */
export async function runNode(
  script: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; node?: string } = {}
): Promise<Ran> {
  const node = options.node ?? process.execPath
  // fail at once, not after a test's whole timeout, when a binary was never installed
  for (const path of [node, script])
    if (!existsSync(path))
      throw new Error(`${path} does not exist: run \`npm test\`, which installs and builds it`)
  const child = spawn(node, [script, ...args], {
    cwd: options.cwd ?? ROOT,
    env: (options.env ?? process.env) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stderr += chunk))
  const status = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { status, stdout, stderr }
}

/** Node versions the bundles are tested under: this machine's, and Node 24 as the runner's `node24`. */
export const NODES: [string, string][] = [
  ['node 20', process.execPath],
  ['node 24', resolve(ROOT, 'node_modules/.cache/node24/node_modules/node/bin/node')]
]

/**
 * A PATH with every program of /usr/bin but zstd: a container job or self-hosted runner
 * without it. (Debian's /bin is /usr/bin, so the folder is built rather than filtered.)
 */
export function pathWithoutZstd(): { path: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bid-no-zstd-'))
  for (const name of readdirSync('/usr/bin'))
    if (!name.startsWith('zstd') && !name.startsWith('unzstd'))
      symlinkSync(join('/usr/bin', name), join(dir, name))
  return { path: dir, dispose: () => rmSync(dir, { recursive: true, force: true }) }
}
