import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, runNode } from './helpers/run.js'

/**
 * A cluster pulls what its manifests say, after Kustomize's overrides: a drift is reported on
 * the line that decides the image, with the pin to paste there.
 */
describe('check on Kubernetes manifests, through the CLI', () => {
  const registry = new TestRegistry()
  let dir = ''
  const run = (...args: string[]) =>
    runNode(CLI, ['check', ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } })
  const write = (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, dirname(path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
  }

  beforeAll(async () => {
    await registry.start()
    dir = mkdtempSync(join(tmpdir(), 'bid-k8s-check-'))
    const pusher = new ImagePusher(registry)
    await pusher.pushImage('acme/web', { env: ['WEB=1.0'] }, { tag: '1.0' })
    await pusher.pushImage('acme/web', { env: ['WEB=1.1'] }, { tag: '1.1' })
    await pusher.pushImage('library/redis', { env: ['REDIS_VERSION=7.2.4'] }, { tag: '7.2' })
    const host = registry.host
    write({
      'deploy/base/kustomization.yaml': 'resources:\n  - web.yaml\n',
      'deploy/base/web.yaml': `apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ${host}/acme/web:1.0\n`,
      'deploy/prod/kustomization.yaml': `resources:\n  - ../base\nimages:\n  - name: ${host}/acme/web\n    newTag: "1.1"\n`,
      'redis.yaml': `apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  template:\n    spec:\n      containers:\n        - name: redis\n          image: ${host}/library/redis:7.2\n`
    })
    expect((await run('--update')).status).toBe(0)
  })
  afterAll(async () => {
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reports a drift on the kustomization entry that picks the tag, and on a manifest line, each with its pin', async () => {
    const before = JSON.parse((await run('--json')).stdout)
    const digestOf = (file: string) =>
      before.findings.find((f: { file: string }) => f.file === file).digest as string
    const overlayDigest = digestOf('deploy/prod/kustomization.yaml')
    const redisDigest = digestOf('redis.yaml')
    const pusher = new ImagePusher(registry)
    await pusher.pushImage('acme/web', { env: ['WEB=1.1.1'] }, { tag: '1.1' })
    await pusher.pushImage('library/redis', { env: ['REDIS_VERSION=7.2.5'] }, { tag: '7.2' })

    const text = await run()
    expect(text.status).toBe(1)
    const host = registry.host
    expect(text.stdout).toContain(
      `deploy/prod/kustomization.yaml:5: ${host}/acme/web:1.1 changed under its tag`
    )
    expect(text.stdout).toContain(
      // the entry's own lines, a digest beside its tag: Kustomize then writes `name:1.1@digest`
      `  keep the known-good image:  newTag: "1.1"\n${' '.repeat(30)}digest: ${overlayDigest}`
    )
    expect(text.stdout).toContain(`redis.yaml:8: ${host}/library/redis:7.2 changed under its tag`)
    expect(text.stdout).toContain(
      `  keep the known-good image:  image: ${host}/library/redis:7.2@${redisDigest}`
    )
    // the base's own build pulls 1.0, which did not move
    expect(text.stdout).not.toContain('deploy/base/web.yaml:8: ')
    expect(text.stderr).toContain('FAIL: 2 images changed under their tags')
  })
})
