import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { normalizePlatform } from '../src/reference/platform.js'
import { ImagePusher, type PushedIndex } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, runNode } from './helpers/run.js'

describe('node dist/cli.js resolve, against the real registry with token auth', () => {
  const registry = new TestRegistry({ auth: 'token' })
  let dir = ''
  let index: PushedIndex
  let single = ''
  let plainArm = ''

  beforeAll(async () => {
    await registry.start()
    const pusher = new ImagePusher(registry)
    index = await pusher.pushIndex(
      'library/python',
      '3.12-slim',
      {
        'linux/amd64': { env: ['P=amd64'] },
        'linux/arm64/v8': { env: ['P=arm64'] },
        'linux/arm/v7': { env: ['P=arm'] }
      },
      { attestations: true }
    )
    single = (await pusher.pushImage('team/tool', {}, { tag: '1', flavour: 'docker' })).digest
    plainArm = (
      await pusher.pushImage('team/armonly', { architecture: 'arm64', variant: 'v8' }, { tag: '1' })
    ).digest
    dir = mkdtempSync(join(tmpdir(), 'bid-resolve-'))
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${registry.host}/library/python:3.12-slim AS base\nCOPY --from=${registry.host}/team/tool:1 /t /t\nFROM ${registry.host}/team/armonly:1\nFROM ${registry.host}/team/missing:1\n`
    )
    writeFileSync(
      join(dir, 'compose.yaml'),
      `services:\n  py:\n    image: ${registry.host}/library/python:3.12-slim\n`
    )
  })
  afterAll(async () => {
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints digests, tracked platform digests and errors as JSON, and exits 4 for the error', async () => {
    const ran = await runNode(
      CLI,
      ['resolve', '--json', '--platforms', 'linux/amd64,linux/arm64/v8', '.'],
      { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } }
    )
    expect(ran.status).toBe(4)
    const { references } = JSON.parse(ran.stdout)
    expect(
      references.map((r: Record<string, unknown>) => [
        r.file,
        r.line,
        r.kind,
        r.digest,
        r.platforms,
        r.error
      ])
    ).toEqual([
      [
        'Dockerfile',
        1,
        'from',
        index.digest,
        {
          'linux/amd64': index.manifests['linux/amd64'],
          'linux/arm64': index.manifests['linux/arm64/v8']
        },
        null
      ],
      ['Dockerfile', 2, 'copy-from', single, { 'linux/amd64': single }, null],
      ['Dockerfile', 3, 'from', plainArm, { 'linux/arm64': plainArm }, null],
      [
        'Dockerfile',
        4,
        'from',
        null,
        undefined,
        `${registry.host}/team/missing:1: the tag 1 does not exist on ${registry.host} (HTTP 404 MANIFEST_UNKNOWN); check the tag, or pin a digest that exists`
      ],
      [
        'compose.yaml',
        3,
        'compose',
        index.digest,
        {
          'linux/amd64': index.manifests['linux/amd64'],
          'linux/arm64': index.manifests['linux/arm64/v8']
        },
        null
      ]
    ])
  })

  it('prints a readable table, errors last', async () => {
    const ran = await runNode(CLI, ['resolve', 'Dockerfile'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
    expect(ran.status).toBe(4)
    const lines = ran.stdout.split('\n')
    expect(lines[0]).toMatch(/^FILE:LINE\s+KIND\s+IMAGE\s+DIGEST\s+PLATFORMS$/)
    expect(lines[1]).toBe(
      `Dockerfile:1  from       ${registry.host}/library/python:3.12-slim  ${index.digest.slice(0, 19)}`
    )
    expect(ran.stdout).toContain(
      `1 reference could not be determined:\n  Dockerfile:4  from  FROM ${registry.host}/team/missing:1\n    error: ${registry.host}/team/missing:1: the tag 1 does not exist`
    )
  })

  it('scans FROM image:$TARGETARCH for each tracked platform, not always amd64', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bid-targetarch-'))
    try {
      writeFileSync(
        join(dir, 'Dockerfile'),
        `ARG TARGETARCH\nFROM ${registry.host}/team/base:$TARGETARCH\n`
      )
      const ran = await runNode(
        CLI,
        ['resolve', '--json', '--platforms', 'linux/arm64,linux/arm/v7'],
        {
          cwd: dir,
          env: { PATH: process.env.PATH, HOME: dir }
        }
      )
      expect(ran.status).toBe(4) // neither tag exists: what matters here is what was scanned
      expect(JSON.parse(ran.stdout).references.map((r: { image: string }) => r.image)).toEqual([
        `${registry.host}/team/base:arm64`,
        `${registry.host}/team/base:arm`
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('platform names', () => {
  it.each([
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/arm/v7', 'linux/arm/v7'],
    ['Linux/AMD64', 'linux/amd64']
  ])('%s is %s', (input, expected) => expect(normalizePlatform(input)).toBe(expected))
})
