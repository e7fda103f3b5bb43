import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { VERSION } from '../src/version.js'
import { ACTION, CLI, ROOT, runNode } from './helpers/run.js'

describe('the command line (dist/cli.js)', () => {
  it('prints the commands, the options and every exit status for --help, help and -h, within 80 columns', async () => {
    for (const args of [['--help'], ['help'], ['-h']]) {
      const ran = await runNode(CLI, args)
      expect(ran.status).toBe(0)
      expect(ran.stdout).toMatch(
        /^Usage: base-image-drift COMMAND \[PATH…\] \[OPTIONS\]\n\nCommands:\n {2}scan /
      )
      for (const status of ['0', '1', '2', '3', '4'])
        expect(ran.stdout).toMatch(new RegExp(`^ {2}${status} {2}\\S`, 'm'))
      expect(ran.stdout.split('\n').filter(line => line.length > 80)).toEqual([])
    }
  })

  it("prints a command's own options for help COMMAND and COMMAND --help", async () => {
    const help = await runNode(CLI, ['help', 'scan'])
    expect(help.stdout).toMatch(/^Usage: base-image-drift scan \[PATH…\] \[OPTIONS\]\n/)
    expect(help.stdout).toContain('--exclude GLOB')
    expect(help.stdout).not.toContain('--baseline')
    expect((await runNode(CLI, ['scan', '--help'])).stdout).toBe(help.stdout)
    expect((await runNode(CLI, ['help', 'check'])).stdout).toContain('--baseline FILE')
  })

  it('prints the package version for --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const ran = await runNode(CLI, [flag])
      expect(ran.stdout.trim()).toBe(
        JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version
      )
      expect(VERSION).toBe(ran.stdout.trim())
    }
  })

  it.each([
    [['bogus'], 'base-image-drift: unknown command "bogus": use scan, resolve, check, pin or help'],
    [[], 'base-image-drift: missing command: use scan, resolve, check, pin or help'],
    [
      ['help', 'bogus'],
      'base-image-drift: no command "bogus": the commands are scan, resolve, check, pin'
    ],
    [
      ['check', '--explain-budget', '-1'],
      'base-image-drift: --explain-budget must be a whole number of MiB from 0 up, not "-1"'
    ],
    [['scan', '--nope'], "base-image-drift: Unknown option '--nope'"],
    [
      ['scan', '--baseline', 'x.json'],
      'base-image-drift: --baseline is not an option of scan: it goes with check or pin'
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
  ])('exits 2 on %j with a one-line reason, then where the options are', async (args, reason) => {
    const ran = await runNode(CLI, args)
    expect(ran.status).toBe(2)
    const [first, second] = ran.stderr.split('\n')
    expect(first).toBe(reason)
    const about = ['scan', 'resolve', 'check', 'pin'].find(c => c === args[0])
    // a path that does not exist is no question of options
    expect(second).toBe(
      reason.endsWith('no such file or directory')
        ? ''
        : `The options: node ${relative(ROOT, CLI)} help${about ? ` ${about}` : ''}`
    )
    expect(ran.stderr).not.toMatch(/\n\s+at /)
  })

  it('colours text under FORCE_COLOR, never --json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bid-colour-'))
    try {
      mkdirSync(join(dir, 'an error dir'))
      writeFileSync(join(dir, 'an error dir', 'Dockerfile'), 'FROM $NOPE\n')
      const env = { PATH: process.env.PATH, FORCE_COLOR: '1' }
      const json = await runNode(CLI, ['scan', '--json', '.'], { cwd: dir, env })
      expect(() => JSON.parse(json.stdout)).not.toThrow()
      expect(json.stdout).not.toContain('\x1b[')
      expect((await runNode(CLI, ['help'], { cwd: dir, env })).stdout).not.toContain('\x1b[')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('takes choices in any case: --fail-on OS is os', async () => {
    const ran = await runNode(CLI, [
      'check',
      '--fail-on',
      'OS,Removed',
      '--on-drift',
      'WARN',
      'no/such/dir'
    ])
    expect(ran.stderr.split('\n')[0]).toBe(
      'base-image-drift: no/such/dir: no such file or directory'
    )
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
