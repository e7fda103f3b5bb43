import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { fixed } from './helpers/drift-world.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { ActionRunner } from './helpers/action-runner.js'

/** The images a workflow pulls, through the bundled action: services, containers, builds. */
describe('the action on a repository whose workflow pulls images', () => {
  const registry = new TestRegistry()
  const cache = new CacheService()
  let workspace = ''
  let runner: ActionRunner
  const host = () => registry.host

  beforeAll(async () => {
    await Promise.all([registry.start(), cache.start()])
    const pusher = new ImagePusher(registry)
    await pusher.pushImage('library/postgres', fixed({ env: ['PG_VERSION=16.4'] }), { tag: '16' })
    await pusher.pushImage('library/node', fixed({ env: ['NODE_VERSION=22.11.0'] }), { tag: '22' })
    await pusher.pushImage('library/python', fixed({ env: ['PY=3.12.2'] }), { tag: '3.12-slim' })
    workspace = mkdtempSync(join(tmpdir(), 'bid-workflow-'))
    mkdirSync(join(workspace, '.github', 'workflows'), { recursive: true })
    mkdirSync(join(workspace, 'api'))
    writeFileSync(
      join(workspace, '.github', 'workflows', 'ci.yml'),
      [
        'on: pull_request', // 1
        'jobs:', // 2
        '  test:', // 3
        '    runs-on: ubuntu-latest', // 4
        `    container: ${host()}/library/node:22`, // 5
        '    services:', // 6
        '      db:', // 7
        `        image: ${host()}/library/postgres:16`, // 8
        '    steps:', // 9
        '      - uses: actions/checkout@v4', // 10
        '      - uses: docker/build-push-action@v6', // 11
        '        with:', // 12
        '          context: api', // 13
        '          build-contexts: |', // 14
        `            base=docker-image://${host()}/library/python:3.12-slim`, // 15
        ''
      ].join('\n')
    )
    // `base` is the build context, not docker.io/library/base
    writeFileSync(join(workspace, 'api', 'Dockerfile'), 'FROM base\nRUN pip install flask\n')
    runner = new ActionRunner(workspace, cache.env)
  })
  afterAll(async () => {
    runner.dispose()
    await Promise.all([registry.stop(), cache.stop()])
    rmSync(workspace, { recursive: true, force: true })
  })

  it('records the container, the service and the build context; a drifted service fails on its workflow line', async () => {
    const first = await runner.runJob()
    expect(first.main.status).toBe(0)
    expect(
      JSON.parse(first.main.outputs.images).map(
        (i: { file: string; line: number; kind: string; image: string }) => [
          i.file,
          i.line,
          i.kind,
          i.image
        ]
      )
    ).toEqual([
      ['.github/workflows/ci.yml', 5, 'workflow-container', `${host()}/library/node:22`],
      ['.github/workflows/ci.yml', 8, 'workflow-service', `${host()}/library/postgres:16`],
      ['.github/workflows/ci.yml', 15, 'build-context', `${host()}/library/python:3.12-slim`]
    ])

    await new ImagePusher(registry).pushImage(
      'library/postgres',
      fixed({ env: ['PG_VERSION=16.5'] }),
      {
        tag: '16'
      }
    )
    const job = await runner.runJob()
    expect(job.main.status).toBe(1)
    const annotation = job.main.commands.find(c => c.command === 'error')!
    expect(annotation.properties).toMatchObject({ file: '.github/workflows/ci.yml', line: '8' })
    expect(annotation.message).toContain('PG_VERSION 16.4 → 16.5')
    expect(annotation.message).toContain(
      `Keep the known-good image: image: ${host()}/library/postgres:16@sha256:`
    )
  })
})
