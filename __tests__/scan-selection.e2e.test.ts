import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { discover } from '../src/sources/discover.js'
import { CLI, runNode } from './helpers/run.js'

/** Which files are searched: vendored trees never, `exclude` / `--exclude` not, files named always. */
describe('choosing the files to scan', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-selection-'))
    for (const [path, image] of [
      ['Dockerfile', 'alpine:3.20'],
      ['third_party/tool/Dockerfile', 'debian:12'],
      ['vendor/github.com/moby/buildkit/Dockerfile', 'busybox:1.36'],
      ['services/vendor/Dockerfile', 'nginx:1.27']
    ]) {
      mkdirSync(join(dir, dirname(path)), { recursive: true })
      writeFileSync(join(dir, path), `FROM ${image}\n`)
    }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const files = async (args: string[]) => {
    const ran = await runNode(CLI, ['scan', '--json', ...args], { cwd: dir })
    expect(ran.stderr).toBe('')
    return (JSON.parse(ran.stdout).references as { file: string }[]).map(r => r.file)
  }

  it('never searches vendor/ (vendored Go modules), as node_modules', async () => {
    expect(await files(['.'])).toEqual(['Dockerfile', 'third_party/tool/Dockerfile'])
  })

  it('--exclude leaves out what it names from the search, but a file named is read', async () => {
    expect(await files(['--exclude', 'third_party/**', '.'])).toEqual(['Dockerfile'])
    expect(
      await files(['--exclude', '**/Dockerfile', 'vendor/github.com/moby/buildkit/Dockerfile'])
    ).toEqual(['vendor/github.com/moby/buildkit/Dockerfile'])
  })

  it('the exclude globs of the action, and a files entry without glob characters read wherever it is', async () => {
    const found = async (globs: string[], exclude: string[] = []) =>
      (
        await discover({
          cwd: dir,
          select: { globs, exclude },
          buildArgs: {},
          targetPlatforms: ['linux/amd64'],
          buildPlatform: 'linux/amd64',
          variables: {},
          secrets: []
        })
      ).files
    expect(await found(['**/Dockerfile'], ['third_party/**'])).toEqual(['Dockerfile'])
    expect(await found(['**/Dockerfile', 'services/vendor/Dockerfile'])).toEqual([
      'Dockerfile',
      'services/vendor/Dockerfile',
      'third_party/tool/Dockerfile'
    ])
  })
})
