import { measuredCli } from '../bench/lib/measured-cli.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultProxy } from './harness/fault-proxy.js'
import { ImagePusher, sha256, spdxAttestation, type ImageSpec } from './harness/images.js'
import { debianRelease, dpkgStatus, tarLayer } from './harness/layers.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, runNode } from './helpers/run.js'
import { writeFileSync } from 'node:fs'

/**
 * A registry attacks through a drift's explanation: the old image is recorded, the tag is
 * rebuilt with something hostile, and `check` must end in time with the drift reported
 * (exit 1), the hostile part "not known" — never a hang, a crash or exit 3.
 */
describe('a hostile registry, through the explanation of a drift', () => {
  const registry = new TestRegistry()
  let proxy: FaultProxy
  let dir = ''
  let tagNumber = 0

  beforeAll(async () => {
    await registry.start()
    proxy = await new FaultProxy(registry.url).start()
  })
  afterAll(async () => {
    await proxy.stop()
    await registry.stop()
  })
  beforeEach(() => {
    proxy.reset()
    dir = mkdtempSync(join(tmpdir(), 'bid-hostile-explain-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  /** Records `old` as the baseline, rebuilds the tag as `hostile`, and runs check with a 1 s timeout. */
  async function driftTo(hostile: ImageSpec, inject?: (layerDigest: string) => void) {
    const tag = `t${++tagNumber}`
    const pusher = new ImagePusher(registry)
    const status = await tarLayer({
      'etc/os-release': debianRelease('12', 'bookworm'),
      'var/lib/dpkg/status': dpkgStatus({ libc6: '2.36-9', libssl3: '3.0.11-1' })
    })
    await pusher.pushImage('library/app', { env: ['V=1'], layers: [status] }, { tag })
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/app:${tag}\n`)
    const baseline = ['--baseline', join(dir, 'b.json')]
    expect((await runNode(CLI, ['check', '--update', ...baseline, '.'], { cwd: dir })).status).toBe(
      0
    )
    const pushed = await pusher.pushImage('library/app', hostile, { tag })
    inject?.(pushed.digest)
    const started = performance.now()
    const ran = await runNode(CLI, ['check', '--json', '--timeout', '1', ...baseline, '.'], {
      cwd: dir
    })
    return { ran, seconds: (performance.now() - started) / 1000 }
  }

  it('a layer dripped a byte at a time ends at the run limit (10 × timeout), the drift still reported', async () => {
    const layer = await tarLayer({
      'var/lib/dpkg/status': dpkgStatus({ libc6: '2.36-10' }),
      pad: 'x'.repeat(4096)
    })
    const layerPath = new RegExp(`/blobs/${sha256(layer)}$`)
    const { ran, seconds } = await driftTo({ env: ['V=2'], layers: [layer] }, () =>
      proxy.inject({ method: 'GET', path: layerPath, dripMs: 300 })
    )
    // the layer was asked for, and cut off at the run's limit
    expect(proxy.seen.filter(r => layerPath.test(r.path))).toHaveLength(1)
    expect(seconds).toBeGreaterThan(9)
    expect(ran.status).toBe(1)
    expect(seconds).toBeLessThan(10 + 5)
    const [finding] = JSON.parse(ran.stdout).findings
    expect(finding.status).toBe('drifted')
  }, 30_000)

  it.each([
    ['"history": 5', (c: Record<string, unknown>) => ({ ...c, history: 5 })],
    [
      '"Env": [1]',
      (c: Record<string, unknown>) => ({ ...c, config: { Env: [1, 'V=2'], Labels: 'x' } })
    ],
    ['a config that is a list', () => [1, 2, 3]]
  ])(
    'a config with %s is an image whose change is not (fully) known, never exit 3',
    async (_, rawConfig) => {
      const { ran } = await driftTo({ env: ['V=2'], rawConfig })
      expect(ran.stderr).not.toMatch(/TypeError|at .*\.js:\d+/)
      expect(ran.status).toBe(1)
      expect(JSON.parse(ran.stdout).findings[0].status).toBe('drifted')
    },
    30_000
  )

  it('a 1 MB created_by that names debian.sh over and over is read in a moment', async () => {
    const createdBy = `/bin/sh -c debian.sh ${"'a' ".repeat(250_000)}`
    const { ran, seconds } = await driftTo({ env: ['V=2'], history: [createdBy] })
    expect(ran.status).toBe(1)
    expect(seconds).toBeLessThan(8)
  }, 30_000)

  it('50,000 whiteouts over 50,000 hidden directories are read in a moment', async () => {
    const files: Record<string, string | null> = {}
    for (let i = 0; i < 50_000; i++) files[`d${i}/.wh..wh..opq`] = ''
    const upper = await tarLayer(files)
    const lowerFiles: Record<string, string | null> = {}
    for (let i = 0; i < 50_000; i++) lowerFiles[`e${i}/.wh.f`] = ''
    const lower = await tarLayer({
      ...lowerFiles,
      'var/lib/dpkg/status': dpkgStatus({ libc6: '2.36-10' })
    })
    const { ran, seconds } = await driftTo({ env: ['V=2'], layers: [lower, upper] })
    expect(ran.status).toBe(1)
    expect(seconds).toBeLessThan(8)
  }, 60_000)
})

describe('memory, whatever the layers hold', () => {
  it('status.d files that expand to 256 MiB from a little gzip stop at the kept limit: peak memory stays bounded', async () => {
    const registry = new TestRegistry()
    await registry.start()
    const dir = mkdtempSync(join(tmpdir(), 'bid-hostile-memory-'))
    try {
      const pusher = new ImagePusher(registry)
      const small = await tarLayer({ 'var/lib/dpkg/status': dpkgStatus({ libc6: '2.36-9' }) })
      await pusher.pushImage('library/big', { env: ['V=1'], layers: [small] }, { tag: '1' })
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${registry.host}/library/big:1\n`)
      const baseline = ['--baseline', join(dir, 'b.json')]
      expect(
        (await runNode(CLI, ['check', '--update', ...baseline, '.'], { cwd: dir })).status
      ).toBe(0)
      const stanza = Buffer.from('Package: filler\nStatus: install ok installed\nVersion: 1.0\n\n')
      const file = Buffer.alloc(32 * 1024 * 1024, stanza)
      const files: Record<string, Buffer> = {}
      for (let i = 0; i < 8; i++) files[`var/lib/dpkg/status.d/p${i}`] = file
      const bomb = await tarLayer(files)
      expect(bomb.length).toBeLessThan(2 * 1024 * 1024)
      await pusher.pushImage('library/big', { env: ['V=2'], layers: [bomb] }, { tag: '1' })
      const measured = await measuredCli(dir, ['check', '--json', ...baseline, '.'])
      const [finding] = JSON.parse(measured.stdout).findings
      expect(finding.status).toBe('drifted')
      expect(finding.explanation.packages?.unavailable ?? '').toMatch(
        /package databases hold more than 48 MiB/
      )
      // the kept limit (48 MiB, held as text) and one layer in flight: far from the 256 MiB it expands to
      expect(measured.rssMiB).toBeLessThan(300)
    } finally {
      rmSync(dir, { recursive: true, force: true })
      await registry.stop()
    }
  }, 120_000)
})

describe('memory, whatever the SBOM holds', () => {
  it('an SBOM near its 16 MiB limit is read within the same bound, and one past it is not read', async () => {
    const registry = new TestRegistry()
    await registry.start()
    const dir = mkdtempSync(join(tmpdir(), 'bid-hostile-sbom-'))
    try {
      const pusher = new ImagePusher(registry)
      const sbom = (count: number) => () =>
        spdxAttestation(Array.from({ length: count }, (_, i): [string, string] => [`p${i}`, '1']))
      const push = (build: string, count: number) =>
        pusher.pushIndex(
          'library/sbom',
          '1',
          { 'linux/amd64': { env: [`B=${build}`] } },
          { attestations: sbom(count) }
        )
      await push('1', 10)
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${registry.host}/library/sbom:1\n`)
      const baseline = ['--baseline', join(dir, 'b.json')]
      expect(
        (await runNode(CLI, ['check', '--update', ...baseline, '.'], { cwd: dir })).status
      ).toBe(0)
      await push('2', 120_000) // about 14 MiB of JSON
      const measured = await measuredCli(dir, [
        'check',
        '--json',
        '--explain-budget',
        '0',
        ...baseline,
        '.'
      ])
      const [finding] = JSON.parse(measured.stdout).findings
      expect(finding.explanation.packages.from).toBe('sbom')
      expect(measured.rssMiB).toBeLessThan(300)
      await push('3', 150_000) // past 16 MiB: not read, and said so
      const past = await runNode(
        CLI,
        ['check', '--json', '--explain-budget', '0', ...baseline, '.'],
        {
          cwd: dir
        }
      )
      expect(past.status).toBe(1)
      expect(JSON.parse(past.stdout).findings[0].explanation.packages.unavailable).toMatch(
        /larger than the 16 MiB limit/
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
      await registry.stop()
    }
  }, 120_000)
})
