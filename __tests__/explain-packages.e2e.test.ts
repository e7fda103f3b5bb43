import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as zlib from 'node:zlib'
import { FaultProxy } from './harness/fault-proxy.js'
import { ImagePusher, spdxAttestation, type ImageSpec } from './harness/images.js'
import { apkInstalled, debianRelease, dpkgStatus, tarArchive, tarLayer } from './harness/layers.js'
import { TestRegistry } from './harness/registry.js'
import { CLI, NODES, runNode } from './helpers/run.js'

const BULLSEYE = {
  libc6: '2.31-13+deb11u7',
  'libssl1.1': '1.1.1w-0+deb11u1',
  openssl: '1.1.1w-0+deb11u1',
  bash: '5.1-2+deb11u1',
  'ca-certificates': '20210119'
}
const BOOKWORM = {
  libc6: '2.36-9+deb12u3',
  libssl3: '3.0.11-1~deb12u2',
  openssl: '3.0.11-1~deb12u2',
  bash: '5.2.15-2+b2',
  'ca-certificates': '20230311'
}

/** python:3.12-slim as upstream built it, with a real root file system layer. */
async function slim(
  release: [string, string],
  packages: Record<string, string>,
  python: string,
  revision: string
): Promise<ImageSpec> {
  return {
    created: '2024-04-10T00:00:00Z',
    env: [`PYTHON_VERSION=${python}`],
    labels: {
      'org.opencontainers.image.source': 'https://github.com/docker-library/python',
      'org.opencontainers.image.revision': revision
    },
    // no debuerreotype history: the OS release comes from etc/os-release
    history: ['ADD rootfs.tar.gz /', 'RUN install python'],
    layers: [
      await tarLayer({
        'etc/os-release': debianRelease(...release),
        'var/lib/dpkg/status': dpkgStatus(packages)
      }),
      await tarLayer({ [`usr/local/bin/python${python}`]: 'python' })
    ]
  }
}

/**
 * Package-level explanations, through the CLI against the real registry: the packages that
 * vanished, read from the image's SBOM or its layers, and the user's lines that need them.
 */
describe('explaining a drift by its packages', () => {
  const registry = new TestRegistry()
  let proxy: FaultProxy
  let dir = ''
  let pusher: ImagePusher
  const check = (...args: string[]) =>
    runNode(CLI, ['check', '--json', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
  const drift = async (...args: string[]) => {
    const ran = await check(...args)
    return {
      ran,
      finding: JSON.parse(ran.stdout).findings.find(
        (f: { status: string }) => f.status === 'drifted'
      )
    }
  }

  beforeAll(async () => {
    await registry.start()
    proxy = await new FaultProxy(registry.url).start()
    pusher = new ImagePusher(registry)
  })
  afterAll(async () => {
    await proxy.stop()
    await registry.stop()
  })
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-packages-'))
    proxy.reset()
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('bullseye → bookworm: libssl1.1 removed, libssl3 added, libc6 2.31 → 2.36, and the lines that need libssl1.1', async () => {
    const bullseye = await pusher.pushImage(
      'library/python',
      await slim(['11', 'bullseye'], BULLSEYE, '3.12.2', 'a1b2c3d'),
      { tag: '3.12-slim' }
    )
    // upstream keeps a tag per Debian release
    await pusher.tag('library/python', '3.12-slim-bullseye', bullseye.digest)
    await pusher.pushImage('library/tools', { env: ['T=1'] }, { tag: '1' })
    const image = `${proxy.host}/library/python:3.12-slim`
    writeFileSync(
      join(dir, 'Dockerfile'),
      [
        `FROM ${image} AS base`,
        'RUN apt-get update && apt-get install -y --no-install-recommends libssl1.1 ca-certificates',
        'FROM base AS app',
        'RUN ln -s /usr/lib/x86_64-linux-gnu/libssl.so.1.1 /opt/libssl.so',
        'COPY --from=base /usr/lib/x86_64-linux-gnu/libssl.so.1.1 /opt/',
        `FROM ${proxy.host}/library/tools:1`,
        'RUN apt-get install -y libssl1.1',
        ''
      ].join('\n')
    )
    expect((await check('--update')).status).toBe(0)
    await pusher.pushImage(
      'library/python',
      await slim(['12', 'bookworm'], BOOKWORM, '3.12.3', 'e4f5a6b'),
      { tag: '3.12-slim' }
    )
    proxy.reset()
    const { ran, finding } = await drift()
    expect(ran.status).toBe(1)
    expect(finding.explanation).toMatchObject({
      severity: 'os',
      os: { before: 'Debian bullseye', after: 'Debian bookworm' },
      packages: {
        from: 'dpkg',
        diff: {
          removed: [{ name: 'libssl1.1', version: '1.1.1w-0+deb11u1', type: 'deb' }],
          added: [{ name: 'libssl3', version: '3.0.11-1~deb12u2', type: 'deb' }]
        }
      }
    })
    expect(finding.explanation.packages.diff.changed).toContainEqual({
      name: 'libc6',
      type: 'deb',
      before: '2.31-13+deb11u7',
      after: '2.36-9+deb12u3',
      major: false
    })
    expect(finding.explanation.summary).toBe(
      'Debian bullseye → bookworm; 1 package removed (libssl1.1); PYTHON_VERSION 3.12.2 → 3.12.3; 2 major package upgrades (ca-certificates 20210119 → 20230311, openssl 1.1.1w-0+deb11u1 → 3.0.11-1~deb12u2); 1 other config change'
    )
    // the stages built on the drifted image, not the one built on tools:1
    expect(finding.packageUses).toEqual([
      { file: 'Dockerfile', line: 2, column: 1, package: 'libssl1.1', does: 'installs' },
      { file: 'Dockerfile', line: 4, column: 1, package: 'libssl1.1', does: 'uses' },
      { file: 'Dockerfile', line: 5, column: 1, package: 'libssl1.1', does: 'copies' }
    ])
    const text = await check().then(() =>
      runNode(CLI, ['check'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } })
    )
    expect(text.stdout).toContain(
      `  Dockerfile:2: libssl1.1 is not in ${image} any more (Debian bookworm); this line installs it`
    )
    expect(text.stdout).toContain('  libssl1.1 1.1.1w-0+deb11u1 → removed')
    expect(finding.explanation.oldRelease).toEqual({
      tag: '3.12-slim-bullseye',
      digest: bullseye.digest,
      release: 'Debian bullseye'
    })
    expect(text.stdout).toContain(`  or stay on the old release: ${image}-bullseye`)
    expect(text.stdout).toContain(
      '  source changes:             https://github.com/docker-library/python/compare/a1b2c3d...e4f5a6b'
    )
  })

  it('reads the SBOM an index carries, and no layer', async () => {
    const sbom = (packages: Record<string, string>) => () =>
      spdxAttestation(Object.entries(packages))
    const push = (packages: Record<string, string>, build: string) =>
      pusher.pushIndex(
        'library/sbom',
        '1',
        {
          'linux/amd64': {
            env: [`BUILD=${build}`],
            created: '2026-01-01T00:00:00Z',
            layers: [`rootfs-${build}`]
          }
        },
        { attestations: sbom(packages) }
      )
    await push(BULLSEYE, '1')
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/sbom:1\n`)
    expect((await check('--update')).status).toBe(0)
    await push({ ...BULLSEYE, 'libssl1.1': '1.1.1x-0+deb11u1' }, '2')
    proxy.reset()
    const { finding } = await drift()
    expect(finding.explanation.packages).toEqual({
      from: 'sbom',
      diff: {
        removed: [],
        added: [],
        changed: [
          {
            name: 'libssl1.1',
            type: 'deb',
            before: '1.1.1w-0+deb11u1',
            after: '1.1.1x-0+deb11u1',
            major: false
          }
        ]
      }
    })
    expect(finding.explanation.severity).toBe('rebuild')
    // the layers' blobs are never asked for: only configs and the SBOM
    const blobs = proxy.seen.filter(r => r.method === 'GET' && r.path.includes('/blobs/'))
    expect(blobs.length).toBe(4) // 2 configs + 2 SBOMs
  })

  it('honours a whiteout: a package deleted by an upper layer of a distroless image is removed', async () => {
    const base = await tarLayer({
      'etc/os-release': debianRelease('12', 'bookworm'),
      'var/lib/dpkg/status.d/base': dpkgStatus({ 'base-files': '12.4' }),
      'var/lib/dpkg/status.d/libssl3': dpkgStatus({ libssl3: '3.0.11-1~deb12u2' })
    })
    await pusher.pushImage('library/static', { env: ['V=1'], layers: [base] }, { tag: 'nonroot' })
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/static:nonroot\n`)
    expect((await check('--update')).status).toBe(0)
    const deletes = await tarLayer({ 'var/lib/dpkg/status.d/libssl3': null })
    await pusher.pushImage(
      'library/static',
      { env: ['V=2'], layers: [base, deletes] },
      { tag: 'nonroot' }
    )
    const { finding } = await drift()
    expect(finding.explanation.packages).toEqual({
      from: 'dpkg',
      diff: {
        removed: [{ name: 'libssl3', version: '3.0.11-1~deb12u2', type: 'deb' }],
        added: [],
        changed: []
      }
    })
    expect(finding.explanation.severity).toBe('removed')
  })

  it('reads an Alpine pair from the apk database, and says an RPM image is not supported', async () => {
    const alpine = async (packages: Record<string, string>, version: string) => [
      await tarLayer({
        'etc/os-release': `ID=alpine\nVERSION_ID=${version}\nPRETTY_NAME="Alpine Linux v${version}"\n`,
        'lib/apk/db/installed': apkInstalled(packages)
      })
    ]
    await pusher.pushImage(
      'library/node',
      {
        env: ['NODE_VERSION=22.11.0'],
        layers: await alpine({ musl: '1.2.5-r0', libssl3: '3.3.2-r0' }, '3.20.3')
      },
      { tag: '22-alpine' }
    )
    await pusher.pushImage(
      'library/ubi',
      { env: ['V=1'], layers: [await tarLayer({ 'var/lib/rpm/rpmdb.sqlite': 'SQLite format 3' })] },
      { tag: '9' }
    )
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${proxy.host}/library/node:22-alpine\nFROM ${proxy.host}/library/ubi:9\n`
    )
    expect((await check('--update')).status).toBe(0)
    await pusher.pushImage(
      'library/node',
      {
        env: ['NODE_VERSION=22.12.0'],
        layers: await alpine(
          { musl: '1.2.5-r1', libssl3: '3.3.2-r1', libcrypto3: '3.3.2-r1' },
          '3.21.0'
        )
      },
      { tag: '22-alpine' }
    )
    await pusher.pushImage(
      'library/ubi',
      { env: ['V=2'], layers: [await tarLayer({ 'var/lib/rpm/rpmdb.sqlite': 'SQLite format 3' })] },
      { tag: '9' }
    )
    const ran = await check()
    const [node, ubi] = JSON.parse(ran.stdout).findings
    expect(node.explanation).toMatchObject({
      severity: 'os',
      os: { before: 'Alpine 3.20.3', after: 'Alpine 3.21.0' },
      packages: {
        from: 'apk',
        diff: {
          removed: [],
          added: [{ name: 'libcrypto3', version: '3.3.2-r1', type: 'apk' }]
        }
      }
    })
    expect(node.explanation.packages.diff.changed.map((c: { name: string }) => c.name)).toEqual([
      'libssl3',
      'musl'
    ])
    expect(ubi.explanation.packages).toEqual({
      unavailable:
        'the image keeps its packages in an RPM database, which is not read (not supported)'
    })
  })

  it("reads zstd layers under Node 24 (the runner's node24), and says so under a Node without zstd", async () => {
    const zstd = (tar: Buffer) =>
      execFileSync(
        NODES[1][1],
        [
          '-e',
          "process.stdout.write(require('zlib').zstdCompressSync(require('fs').readFileSync(0)))"
        ],
        { input: tar }
      )
    const layer = async (bash: string) =>
      zstd(await tarArchive({ 'var/lib/dpkg/status': dpkgStatus({ bash }) }))
    const spec = async (bash: string): Promise<ImageSpec> => ({
      env: [`BASH=${bash}`],
      layers: [await layer(bash)],
      layerMediaType: 'application/vnd.oci.image.layer.v1.tar+zstd'
    })
    await pusher.pushImage('library/zstd', await spec('5.2.15-2'), { tag: '1' })
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/zstd:1\n`)
    expect((await check('--update')).status).toBe(0)
    await pusher.pushImage('library/zstd', await spec('5.2.21-2'), { tag: '1' })
    const under = (node: string) =>
      runNode(CLI, ['check', '--json'], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir },
        node
      })
    const node24 = JSON.parse((await under(NODES[1][1])).stdout).findings[0]
    expect(node24.explanation.packages.diff.changed).toEqual([
      { name: 'bash', type: 'deb', before: '5.2.15-2', after: '5.2.21-2', major: false }
    ])
    const node20 = JSON.parse((await under(NODES[0][1])).stdout).findings[0]
    const hasZstd = 'createZstdDecompress' in zlib
    expect(node20.explanation.packages).toEqual(
      hasZstd
        ? node24.explanation.packages
        : {
            unavailable:
              'a layer is application/vnd.oci.image.layer.v1.tar+zstd, which this Node.js cannot decompress'
          }
    )
  })

  it('stays within the explain budget: a large layer above the database is not read past it, and the drift still fails', async () => {
    const database = await tarLayer({
      'etc/os-release': debianRelease('12', 'bookworm'),
      'var/lib/dpkg/status': dpkgStatus({ libc6: '2.36-9' })
    })
    const large = () => tarLayer({ 'opt/blob': randomBytes(3 * 1024 * 1024) })
    await pusher.pushImage(
      'library/big',
      { env: ['V=1'], layers: [database, await large()] },
      { tag: '1' }
    )
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/big:1\n`)
    expect((await check('--update')).status).toBe(0)
    await pusher.pushImage(
      'library/big',
      { env: ['V=2'], layers: [database, await large()] },
      { tag: '1' }
    )
    const { ran, finding } = await drift('--explain-budget', '1')
    expect(ran.status).toBe(1)
    expect(finding.explanation.packages).toEqual({
      unavailable: 'the layers are larger than the explain budget of 1 MiB (input explain-budget)'
    })
    const text = await runNode(CLI, ['check', '--explain-budget', '0'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
    expect(text.status).toBe(1)
    expect(text.stdout).not.toContain('packages not compared')
  })

  it('stops reading a layer that expands like a decompression bomb', async () => {
    const bomb = () => tarLayer({ 'opt/zeros': Buffer.alloc(40 * 1024 * 1024) })
    const database = await tarLayer({ 'var/lib/dpkg/status': dpkgStatus({ bash: '5.2' }) })
    await pusher.pushImage(
      'library/bomb',
      { env: ['V=1'], layers: [database, await bomb()] },
      { tag: '1' }
    )
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/bomb:1\n`)
    expect((await check('--update')).status).toBe(0)
    await pusher.pushImage(
      'library/bomb',
      { env: ['V=2'], layers: [database, await bomb()] },
      { tag: '1' }
    )
    const { ran, finding } = await drift('--explain-budget', '1')
    expect(ran.status).toBe(1)
    expect(finding.explanation.packages).toEqual({
      unavailable: 'the layers expand to more than 20 times the explain budget; reading stopped'
    })
  })

  it('fails only on the severities in --fail-on; the others warn', async () => {
    const layers = [await tarLayer({ 'var/lib/dpkg/status': dpkgStatus({ bash: '5.2.15-2' }) })]
    await pusher.pushImage('library/weekly', { env: ['V=1'], layers }, { tag: '1' })
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/weekly:1\n`)
    expect((await check('--update')).status).toBe(0)
    // a weekly rebuild: same packages, a new build date
    await pusher.pushImage('library/weekly', { env: ['V=2'], layers }, { tag: '1' })
    const quiet = await drift('--fail-on', 'os,removed,major')
    expect(quiet.finding.explanation.severity).toBe('rebuild')
    expect(quiet.ran.status).toBe(0)
    const strict = await drift('--fail-on', 'rebuild')
    expect(strict.ran.status).toBe(1)
    expect((await check('--fail-on', 'minor')).stderr).toContain(
      '--fail-on: each entry must be os, removed, major or rebuild, not "minor"'
    )
  })
})
