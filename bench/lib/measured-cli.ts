// A Node process that reports its own CPU time and peak memory as it exits.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const CLI = resolve('dist/cli.js')

export interface Measured {
  wall: number
  cpuMs: number
  rssMiB: number
  stdout: string
}

/** `node dist/cli.js ARGS` in `dir`; a non-zero exit (drift) is a result, not a failure. */
export function measuredCli(
  dir: string,
  args: string[],
  env: Record<string, string> = {}
): Promise<Measured> {
  return measuredNode(dir, CLI, args, env)
}

/** `node ENTRY ARGS` in `dir`, with only PATH, HOME and `env` in its environment. */
export async function measuredNode(
  dir: string,
  entry: string,
  args: string[],
  env: Record<string, string> = {}
): Promise<Measured> {
  const wrapper = join(dir, 'measure.mjs')
  // VmHWM, not ru_maxrss: Linux keeps the parent's peak across fork and exec in the latter
  writeFileSync(
    wrapper,
    `import { readFileSync } from 'node:fs'\nprocess.on('exit', () => process.stderr.write(JSON.stringify({ cpu: process.cpuUsage(), rssKiB: Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) }) + '\\n'))\nawait import(${JSON.stringify(entry)})\n`
  )
  const started = performance.now()
  const ran = await run(process.execPath, [wrapper, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, ...env },
    maxBuffer: 256 * 1024 * 1024
  }).catch((error: { stdout: string; stderr: string }) => error)
  const wall = performance.now() - started
  const usage = JSON.parse(ran.stderr.trim().split('\n').at(-1) ?? '{}') as {
    cpu: NodeJS.CpuUsage
    rssKiB: number
  }
  return {
    wall,
    cpuMs: (usage.cpu.user + usage.cpu.system) / 1000,
    rssMiB: usage.rssKiB / 1024,
    stdout: ran.stdout
  }
}
