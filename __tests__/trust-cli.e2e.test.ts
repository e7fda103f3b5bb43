import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultProxy } from './harness/fault-proxy.js'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import { fixed } from './helpers/drift-world.js'
import { CLI, runNode } from './helpers/run.js'

/** The gate never forgets a known-good digest: through `check`, against the real registry. */
describe('check never forgets a known-good digest', () => {
  const registry = new TestRegistry()
  let dir = ''
  let image = ''
  const check = (...args: string[]) =>
    runNode(CLI, ['check', '--json', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
  const statuses = (ran: { stdout: string }) =>
    (JSON.parse(ran.stdout).findings as { file: string; status: string; image: string }[]).map(
      f => `${f.file} ${f.status}`
    )
  const rebuild = (version: string) =>
    new ImagePusher(registry).pushImage(
      'library/python',
      { env: [`V=${version}`] },
      { tag: '3.12' }
    )

  beforeAll(async () => {
    await registry.start()
    image = `${registry.host}/library/python:3.12`
  })
  afterAll(() => registry.stop())
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bid-trust-'))
    await rebuild('1')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it.each([
    [
      'a Compose file with a YAML error',
      'compose.yaml',
      `services:\n  db:\n    image: ${'IMAGE'}\n`,
      'services:\n  db: [\n'
    ],
    ['a binary Dockerfile', 'Dockerfile', 'FROM IMAGE\n', 'FROM \0IMAGE\n'],
    [
      'an oversized Dockerfile',
      'Dockerfile',
      'FROM IMAGE\n',
      'FROM IMAGE\n' + '#'.repeat(1024 * 1024)
    ],
    [
      'a FROM whose ARG has no value',
      'Dockerfile',
      'ARG BASE=IMAGE\nFROM $BASE\n',
      'ARG BASE\nFROM $BASE\n'
    ]
  ])(
    '%s keeps its entries; fixed after upstream moved, the image is drifted, not new',
    async (_, file, good, broken) => {
      const write = (text: string) =>
        writeFileSync(join(dir, file), text.replaceAll('IMAGE', image))
      write(good)
      expect((await check('--update')).status).toBe(0)

      write(broken)
      // the only image could not be checked: by default (on-error auto) that fails
      const failing = await check('--update')
      expect(failing.status).toBe(1)
      expect(statuses(failing)).toEqual([`${file} error`])
      expect(
        Object.keys(JSON.parse(readFileSync(join(dir, '.base-image-drift.json'), 'utf8')).images)
      ).toEqual([image])
      expect((await check('--on-error', 'warn')).status).toBe(0)

      await rebuild('2')
      write(good)
      const repaired = await check('--update')
      expect(repaired.status).toBe(1)
      expect(statuses(repaired)).toEqual([`${file} drifted`])
    }
  )

  // measured before: after a pull request added byte-order marks, check --update dropped
  // the four entries of those files without a word
  it('a byte-order mark added to each file changes nothing: every entry is still read and kept', async () => {
    const files: Record<string, string> = {
      Dockerfile: `FROM ${image}\n`,
      'compose.yaml': `services:\n  db:\n    image: ${image}\n`,
      'k8s/pod.yaml': `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: ${image}\n`,
      'k8s/kustomization.yaml': 'resources:\n  - pod.yaml\n'
    }
    mkdirSync(join(dir, 'k8s'))
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
    expect((await check('--update')).status).toBe(0)
    const before = readFileSync(join(dir, '.base-image-drift.json'), 'utf8')
    for (const [file, text] of Object.entries(files))
      writeFileSync(join(dir, file), `\ufeff${text}`)
    const marked = await check('--update')
    expect(marked.status).toBe(0)
    expect(marked.stderr).toBe('')
    expect(statuses(marked).sort()).toEqual(
      ['Dockerfile unchanged', 'compose.yaml unchanged', 'k8s/pod.yaml unchanged'].sort()
    )
    expect(readFileSync(join(dir, '.base-image-drift.json'), 'utf8')).toBe(before)
  })

  it('a Compose file edited into something no longer read keeps its entry, and says so', async () => {
    // another file still read: the scan is not empty
    await new ImagePusher(registry).pushImage('library/alpine', {}, { tag: '3.20' })
    const alpine = `${registry.host}/library/alpine:3.20`
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${alpine}\n`)
    writeFileSync(join(dir, 'compose.yaml'), `services:\n  db:\n    image: ${image}\n`)
    expect((await check('--update')).status).toBe(0)
    // a stray edit: no `services:` at the top, so no source reads the file
    writeFileSync(join(dir, 'compose.yaml'), `  services:\n  db:\n    image: ${image}\n`)
    const edited = await check('--update')
    expect(edited.status).toBe(0)
    expect(edited.stderr).toContain(
      'warning: compose.yaml: recorded with 1 image but its content is no longer of a kind read here; its entry is kept in the baseline'
    )
    expect(
      Object.keys(
        JSON.parse(readFileSync(join(dir, '.base-image-drift.json'), 'utf8')).images
      ).sort()
    ).toEqual([alpine, image])
  })

  it.each([
    [
      'git merge-conflict markers',
      '{\n<<<<<<< HEAD\n"images": {}\n=======\n>>>>>>> main\n}\n',
      'has a git merge-conflict marker on line 2: resolve the conflict'
    ],
    [
      'a key not in normal form',
      JSON.stringify({
        schema: 'https://github.com/base-image-drift/base-image-drift/baseline',
        version: 1,
        images: { 'python:3.12': { digest: `sha256:${'a'.repeat(64)}` } }
      }),
      'has image "python:3.12", which is not in normalized form (docker.io/library/python:3.12)'
    ],
    [
      'a newer version',
      JSON.stringify({
        schema: 'https://github.com/base-image-drift/base-image-drift/baseline',
        version: 9,
        images: {}
      }),
      'was written by a newer base-image-drift (baseline version 9; this one reads version 1): upgrade base-image-drift'
    ]
  ])(
    'a baseline with %s stops the run with exit 3 and is left as it is, until --accept --update replaces it',
    async (_, text, why) => {
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${image}\n`)
      const path = join(dir, '.base-image-drift.json')
      writeFileSync(path, text)
      const refused = await check('--update')
      expect(refused.status).toBe(3)
      expect(refused.stderr).toBe(
        `base-image-drift: the baseline cannot be used: .base-image-drift.json ${why}. It was left as it is; fix it, or accept this run's digests as the new baseline (input accept: true, or --accept --update)\n`
      )
      expect(readFileSync(path, 'utf8')).toBe(text)

      const replaced = await runNode(CLI, ['check', '--accept', '--update'], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir }
      })
      expect(replaced.status).toBe(0)
      expect(replaced.stdout).toContain(
        `Replaced the baseline in .base-image-drift.json, which could not be used (.base-image-drift.json ${why}), with this run's digests.`
      )
      expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')).images)).toEqual([image])
    }
  )

  it('keeps the baseline when no image references are found at all, and says why', async () => {
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${image}\n`)
    expect((await check('--update')).status).toBe(0)
    rmSync(join(dir, 'Dockerfile'))
    const empty = await runNode(CLI, ['check', '--update'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
    expect(empty.status).toBe(0)
    expect(empty.stderr).toContain(
      'warning: no image references were found, so the baseline of 1 image was kept; check the files input'
    )
    const kept = JSON.parse(readFileSync(join(dir, '.base-image-drift.json'), 'utf8'))
    expect(Object.keys(kept.images)).toEqual([image])
  })

  it('resolves Compose anchors, aliases and merge keys as Compose does, and warns about the legacy format', async () => {
    writeFileSync(
      join(dir, 'compose.yaml'),
      [
        'x-base: &base',
        `  image: ${registry.host}/library/a:1`,
        'x-worker: &worker',
        `  image: ${registry.host}/library/b:1`,
        `x-img: &img ${registry.host}/library/c:1`,
        'services:',
        '  api:',
        '    <<: *base',
        '  worker: *worker',
        '  cron:',
        '    image: *img',
        ''
      ].join('\n')
    )
    writeFileSync(join(dir, 'docker-compose.legacy.yml'), `web:\n  image: ${image}\n`)
    const ran = await check()
    const images = (JSON.parse(ran.stdout).findings as { image: string }[]).map(f => f.image)
    expect(images.sort()).toEqual(['a', 'b', 'c'].map(n => `${registry.host}/library/${n}:1`))
    // the images are not in the registry: the scan's warning first, then what that does
    expect(ran.stderr.split('\n')[0]).toBe(
      'warning: docker-compose.legacy.yml:1: services at the top level (the legacy Compose format) are not scanned: put them under `services:`'
    )
  })
})

/** The gate never cries wolf, and stays cheap: what `check` asks the registry, request by request. */
describe('check in the steady state', () => {
  const registry = new TestRegistry()
  let proxy: FaultProxy
  let dir = ''
  const check = (...args: string[]) =>
    runNode(CLI, ['check', '--json', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
  const pushPython = (rebuild: string) =>
    new ImagePusher(registry).pushIndex(
      'library/python',
      '3.13-slim',
      {
        'linux/amd64': fixed({ env: ['ARCH=amd64'] }),
        'linux/arm64/v8': fixed({ env: ['ARCH=arm64', `REBUILT=${rebuild}`] })
      },
      { attestations: true }
    )
  const manifestRequests = () =>
    proxy.seen.map(r => `${r.method} ${r.path.replace(/sha256:[0-9a-f]{64}/, 'DIGEST')}`).sort()

  beforeAll(async () => {
    await registry.start()
    proxy = await new FaultProxy(registry.url).start()
    dir = mkdtempSync(join(tmpdir(), 'bid-steady-'))
    await pushPython('0')
    await new ImagePusher(registry).pushImage('team/tool', { env: ['TOOL=1'] }, { tag: '1' })
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${proxy.host}/library/python:3.13-slim\nFROM ${proxy.host}/team/tool:1 AS tool\nCOPY --from=${proxy.host}/team/tool:1 /bin/tool /bin/\n`
    )
    expect((await check('--update')).status).toBe(0)
  })
  afterAll(async () => {
    await proxy.stop()
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  beforeEach(() => proxy.reset())

  it('asks one HEAD per distinct reference when nothing moved, and reads no index or blob', async () => {
    const ran = await check()
    expect(ran.status).toBe(0)
    expect(manifestRequests()).toEqual([
      'HEAD /v2/library/python/manifests/3.13-slim',
      'HEAD /v2/team/tool/manifests/1'
    ])
  })

  it('a drift of a tracked platform fetches each manifest once: comparing platforms and explaining share them', async () => {
    expect((await check('--update', '--platforms', 'linux/arm64')).status).toBe(0)
    proxy.reset()
    await pushPython('arm-rebuilt')
    const drifted = await check('--platforms', 'linux/arm64')
    expect(drifted.status).toBe(1)
    const gets = proxy.seen.filter(r => r.method === 'GET' && r.path.includes('/manifests/'))
    // the old and new index, the old and new linux/arm64 manifest and the attestation
    // manifest of each (where an SBOM would be): each once
    expect(gets.map(r => r.path).sort()).toEqual([...new Set(gets.map(r => r.path))].sort())
    expect(gets).toHaveLength(6)
    expect((await check('--update', '--platforms', 'linux/arm64', '--accept')).status).toBe(0)
  })

  it('reads the old and new index only of the image that moved, then is back to one HEAD each; the next move needs no old index', async () => {
    await pushPython('1') // another platform rebuilt: the index moved, linux/amd64 did not
    const churned = await check('--update')
    expect(churned.status).toBe(0)
    expect(JSON.parse(churned.stdout).findings.map((f: { status: string }) => f.status)).toEqual([
      'index-churn',
      'unchanged',
      'unchanged'
    ])
    expect(manifestRequests()).toEqual([
      'GET /v2/library/python/manifests/DIGEST',
      'GET /v2/library/python/manifests/DIGEST',
      'HEAD /v2/library/python/manifests/3.13-slim',
      'HEAD /v2/team/tool/manifests/1'
    ])
    proxy.reset()
    expect((await check()).status).toBe(0)
    expect(manifestRequests()).toEqual([
      'HEAD /v2/library/python/manifests/3.13-slim',
      'HEAD /v2/team/tool/manifests/1'
    ])
    // the baseline now has linux/amd64's digest: the next move reads only the new index
    await pushPython('2')
    proxy.reset()
    const again = await check('--update')
    expect(JSON.parse(again.stdout).findings[0]).toMatchObject({
      status: 'index-churn',
      reason: 'only other platforms, attestations or index annotations changed'
    })
    expect(manifestRequests()).toEqual([
      'GET /v2/library/python/manifests/DIGEST',
      'HEAD /v2/library/python/manifests/3.13-slim',
      'HEAD /v2/team/tool/manifests/1'
    ])
  })
})
