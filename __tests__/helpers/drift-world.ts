import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultProxy } from '../harness/fault-proxy.js'
import { ImagePusher, type ImageSpec } from '../harness/images.js'
import { TestRegistry } from '../harness/registry.js'
import { CacheService } from '../harness/cache-service.js'
import { ActionRunner, type JobResult } from './action-runner.js'

/**
 * A small world for drift scenarios: a Docker Hub-like registry with token auth holding
 * python:3.12-slim and a multi-platform python:3.13-slim, a second registry behind a proxy
 * that can fail, and a workspace whose Dockerfile names both.
 */
export const fixed = (spec: ImageSpec): ImageSpec => ({
  created: '2026-01-01T00:00:00Z',
  layers: [JSON.stringify(spec.env)],
  ...spec
})

export class World {
  readonly hub = new TestRegistry({ auth: 'token' })
  readonly other = new TestRegistry()
  otherProxy!: FaultProxy
  workspace = ''

  async start(): Promise<void> {
    await this.hub.start()
    await this.other.start()
    this.otherProxy = await new FaultProxy(this.other.url).start()
    this.workspace = mkdtempSync(join(tmpdir(), 'bid-e2e-'))
    const hub = new ImagePusher(this.hub)
    await hub.pushImage('library/python', fixed({ env: ['PYTHON_VERSION=3.12.2'] }), {
      tag: '3.12-slim'
    })
    await hub.pushIndex(
      'library/python',
      '3.13-slim',
      {
        'linux/amd64': fixed({ env: ['PYTHON_VERSION=3.13.0', 'ARCH=amd64'] }),
        'linux/arm64/v8': fixed({ env: ['PYTHON_VERSION=3.13.0', 'ARCH=arm64'] })
      },
      { attestations: true }
    )
    await new ImagePusher(this.other).pushImage('team/base', fixed({ env: ['BASE=1'] }), {
      tag: '1'
    })
    this.writeDockerfile('3.12-slim')
  }

  async stop(): Promise<void> {
    await this.otherProxy.stop()
    await this.other.stop()
    await this.hub.stop()
    rmSync(this.workspace, { recursive: true, force: true })
  }

  writeDockerfile(pythonTag: string): void {
    writeFileSync(
      join(this.workspace, 'Dockerfile'),
      `FROM ${this.hub.host}/library/python:${pythonTag} AS base\nRUN pip install flask\n\nFROM ${this.otherProxy.host}/team/base:1\nCOPY --from=base /usr/local /usr/local\n`
    )
  }

  /** Upstream rebuilds python:3.12-slim. */
  async movePython312(): Promise<void> {
    await new ImagePusher(this.hub).pushImage(
      'library/python',
      fixed({ env: ['PYTHON_VERSION=3.12.3'] }),
      { tag: '3.12-slim' }
    )
  }

  /** Upstream rebuilds only the arm64 image of python:3.13-slim. */
  async rebuildArm64Only(rebuild = '1'): Promise<void> {
    await new ImagePusher(this.hub).pushIndex(
      'library/python',
      '3.13-slim',
      {
        'linux/amd64': fixed({ env: ['PYTHON_VERSION=3.13.0', 'ARCH=amd64'] }),
        'linux/arm64/v8': fixed({
          env: ['PYTHON_VERSION=3.13.0', 'ARCH=arm64', `REBUILT=${rebuild}`]
        })
      },
      { attestations: true }
    )
  }
}

/** Line → finding status, from the `images` output. */
export const statuses = (job: JobResult) =>
  Object.fromEntries(
    (JSON.parse(job.main.outputs.images) as { line: number; status: string }[]).map(i => [
      i.line,
      i.status
    ])
  )

/** A drift scenario of its own: registries, workspace, cache service and runner, all stopped after. */
export async function inWorld(
  node: string,
  body: (world: World, runner: ActionRunner, cache: CacheService) => Promise<void>
): Promise<void> {
  const world = new World()
  const cache = new CacheService()
  await world.start()
  await cache.start()
  const runner = new ActionRunner(world.workspace, cache.env, node)
  try {
    await body(world, runner, cache)
  } finally {
    runner.dispose()
    await cache.stop()
    await world.stop()
  }
}
