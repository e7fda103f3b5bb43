import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { VERSION } from '../src/version.js'
import { ACTION, CLI, ROOT, runNode } from './helpers/run.js'

describe('the command line (dist/cli.js)', () => {
  it('prints usage for --help and exits 0', async () => {
    const ran = await runNode(CLI, ['--help'])
    expect(ran.status).toBe(0)
    expect(ran.stdout).toMatch(/^Usage:\n {2}base-image-drift scan/)
    expect(ran.stdout).toContain(
      'base-image-drift check   [PATH…] [--baseline FILE] [--update] [--accept] [--json]'
    )
  })

  it('prints the package version', async () => {
    const ran = await runNode(CLI, ['--version'])
    expect(ran.stdout.trim()).toBe(
      JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version
    )
    expect(VERSION).toBe(ran.stdout.trim())
  })

  it.each([
    [['bogus'], 'base-image-drift: unknown command "bogus": use scan, resolve or check'],
    [[], 'base-image-drift: missing command: use scan, resolve or check'],
    [['scan', '--nope'], "base-image-drift: Unknown option '--nope'"],
    [
      ['scan', '--baseline', 'x.json'],
      'base-image-drift: --baseline is not an option of scan: it goes with check'
    ],
    [
      ['scan', '--build-arg', 'oops'],
      'base-image-drift: --build-arg "oops" must be NAME=VALUE with NAME made of letters, digits and _'
    ],
    [
      ['check', '--on-drift', 'maybe'],
      'base-image-drift: --on-drift must be fail or warn, not "maybe"'
    ],
    [
      ['resolve', '--platforms', 'vax'],
      'base-image-drift: --platforms: "vax" is not a platform: it is no operating system or architecture known; use os/arch[/variant] (e.g. linux/arm64), an OS or an architecture alone (linux, arm64)'
    ],
    [
      ['resolve', '--timeout', '0'],
      'base-image-drift: --timeout must be a number of seconds above 0 and at most 300, not "0"'
    ],
    [
      ['check', '--timeout', '86400'],
      'base-image-drift: --timeout must be a number of seconds above 0 and at most 300, not "86400"'
    ],
    [['scan', 'no/such/dir'], 'base-image-drift: no/such/dir: no such file or directory']
  ])('exits 2 on %j with a one-line reason, then the usage', async (args, reason) => {
    const ran = await runNode(CLI, args)
    expect(ran.status).toBe(2)
    expect(ran.stderr.split('\n')[0]).toBe(reason)
    expect(ran.stderr).toContain('Usage:')
    expect(ran.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('the action (dist/index.js) outside a runner', () => {
  it('ends with one workflow error command, never a stack trace', async () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('GITHUB_') && !k.startsWith('INPUT_') && !k.startsWith('RUNNER_')
      )
    )
    const ran = await runNode(ACTION, [], { env })
    expect(ran.status).toBe(2)
    const lines = (ran.stdout + ran.stderr).trim().split('\n')
    expect(lines[lines.length - 1]).toMatch(
      /^::error::base-image-drift runs as a GitHub Actions step/
    )
    expect(ran.stdout + ran.stderr).not.toMatch(/\n\s+at /)
  })
})
