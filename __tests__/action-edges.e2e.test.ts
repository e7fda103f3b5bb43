import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CACHE_SIGNATURE, CacheService } from './harness/cache-service.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { ActionRunner } from './helpers/action-runner.js'
import { NODES } from './helpers/run.js'

describe.each(NODES)('the action under %s, at its edges', (_, node) => {
  const registry = new TestRegistry()
  const cache = new CacheService()
  let workspace = ''
  let runner: ActionRunner
  beforeAll(async () => {
    await registry.start()
    await cache.start()
    await new ImagePusher(registry).pushImage('library/alpine', {}, { tag: '3.20' })
    workspace = mkdtempSync(join(tmpdir(), 'bid-edges-'))
    writeFileSync(join(workspace, 'Dockerfile'), `FROM ${registry.host}/library/alpine:3.20\n`)
    runner = new ActionRunner(workspace, cache.env, node)
  })
  afterAll(async () => {
    runner.dispose()
    await cache.stop()
    await registry.stop()
    rmSync(workspace, { recursive: true, force: true })
  })
  afterEach(() => {
    cache.failMethod = null
  })

  it.each([
    [{ 'on-drift': 'maybe' }, 'input on-drift must be fail or warn, not "maybe"'],
    [{ 'on-error': 'ignore' }, 'input on-error must be auto, fail or warn, not "ignore"'],
    [
      { accept: 'yes' },
      'input accept must be true, false, or the images to accept with their tags (e.g. python:3.12-slim), not "yes": an image to accept is named with its tag'
    ],
    [
      { 'save-baseline': 'main' },
      'input save-baseline must be default-branch, always or never, not "main"'
    ],
    [
      { 'on-missing-baseline': 'ignore' },
      'input on-missing-baseline must be fail or warn, not "ignore"'
    ],
    [{ comment: 'sometimes' }, 'input comment must be on-drift, always or never, not "sometimes"'],
    [
      { platforms: 'linux/arm64/v8/extra' },
      'input platforms: "linux/arm64/v8/extra" is not a platform: it has more than three parts; use os/arch[/variant] (e.g. linux/arm64), an OS or an architecture alone (linux, arm64)'
    ],
    [
      { timeout: 'soon' },
      'input timeout must be a number of seconds above 0 and at most 300, not "soon"'
    ],
    [
      { 'build-args': 'NOEQUALS' },
      'input build-args: entry "NOEQUALS" must be NAME=VALUE with NAME made of letters, digits and _'
    ],
    [{ 'registry-auth': 'ghcr.io' }, 'input registry-auth, line 1: must be host=user:password']
  ])('refuses %j naming the input and what is allowed', async (inputs, message) => {
    const job = await runner.runJob(inputs)
    expect(job.main.status).toBe(2)
    expect(job.main.commands.filter(c => c.command !== 'add-mask')).toEqual([
      { command: 'error', properties: {}, message }
    ])
    expect(job.main.stdout + job.main.stderr).not.toMatch(/\n\s+at /)
  })

  it('masks registry-auth passwords before anything is printed', async () => {
    const job = await runner.runJob({ 'registry-auth': `${registry.host}=me:s3cret-pass` })
    const masked = job.main.commands.filter(c => c.command === 'add-mask').map(c => c.message)
    // the cache library masks the signature of the download URL it was given, as it should
    expect(masked.filter(m => m !== CACHE_SIGNATURE)).toEqual(['ghs_testtoken', 's3cret-pass'])
  })

  it('stops on a lockfile that cannot be used (exit 3, untouched), until accept: true replaces it', async () => {
    const lockfile = join(workspace, 'lock.json')
    const conflicted = '{\n<<<<<<< HEAD\n  "images": {}\n=======\n>>>>>>> main\n}\n'
    writeFileSync(lockfile, conflicted)
    const inputs = { lockfile: 'lock.json', 'update-lockfile': 'true' }
    const job = await runner.runJob(inputs)
    expect(job.main.status).toBe(3)
    expect(job.main.commands.filter(c => c.command === 'error').map(c => c.message)).toEqual([
      `base-image-drift: the baseline cannot be used: lock.json has a git merge-conflict marker on line 2: resolve the conflict. It was left as it is; fix it, or accept this run's digests as the new baseline (input accept: true, or --accept --update)`
    ])
    expect(readFileSync(lockfile, 'utf8')).toBe(conflicted)

    const accepted = await runner.runJob({ ...inputs, accept: 'true' })
    expect(accepted.main.status).toBe(0)
    expect(accepted.main.commands.filter(c => c.command === 'warning').map(c => c.message)).toEqual(
      [
        `the stored baseline could not be used (lock.json has a git merge-conflict marker on line 2: resolve the conflict); accept: true replaces it with this run's digests`
      ]
    )
    expect(JSON.parse(readFileSync(lockfile, 'utf8')).images).toHaveProperty([
      `${registry.host}/library/alpine:3.20`
    ])
  })

  it.each([
    ['read denied', 'GetCacheEntryDownloadURL', 403, 'main'],
    ['write denied', 'CreateCacheEntry', 200, 'post']
  ])('gives one warning when the cache %s, never an error', async (_, method, status, step) => {
    const what = method === 'CreateCacheEntry' ? 'write' : 'read'
    cache.failMethod = { method, status, msg: `cache ${what} denied: no permission in this scope` }
    // a baseline of its own, so this run has something to save
    const job = await runner.runJob({ 'cache-key': `denied-${what}` })
    expect(job.main.status).toBe(0)
    const result = step === 'main' ? job.main : job.post!
    expect(result.commands.filter(c => c.command === 'error')).toEqual([])
    const warnings = result.commands.filter(c => c.command === 'warning')
    expect(warnings).toHaveLength(1)
    expect(warnings[0].message).toMatch(
      new RegExp(`cache ${what} denied: no permission in this scope`)
    )
  })
})
