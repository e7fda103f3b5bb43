import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pinReferences } from '../src/pipeline/pin.js'
import { formatReference, type ImageReference } from '../src/reference/reference.js'
import type { FoundReference } from '../src/sources/read/source.js'
import { discoverDirectory, writeTree } from './helpers/references.js'

/** mulberry32: the same random repositories on every run, a failure reproducible by its seed. */
function random(seed: number) {
  let state = seed
  const next = () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = <T>(...choices: T[]): T => choices[Math.floor(next() * choices.length)]
  return { pick, chance: (p: number) => next() < p }
}

type Random = ReturnType<typeof random>

const NAMES = ['python', 'ghcr.io/acme/api', 'registry.example.com:5000/team/base', 'redis']
const TAGS = ['3.12-slim', '7', '1.27.1', 'v2']

/** A reference written as teams write them, and the tag it names. */
function image(r: Random): string {
  return `${r.pick(...NAMES)}:${r.pick(...TAGS)}`
}

/** A YAML scalar in one of its styles. */
function yamlValue(r: Random, value: string): string {
  return r.pick(value, `"${value}"`, `'${value}'`)
}

/** A trailing comment, sometimes. */
const comment = (r: Random) => (r.chance(0.3) ? r.pick('  # pinned by hand', ' # TODO') : '')

/** A repository with one file of each kind, each in a random one of its real forms. */
function repository(r: Random): Record<string, string> {
  const dockerfile = [
    r.pick('# syntax=docker/dockerfile:1', '# syntax = docker/dockerfile:1.7 '),
    'ARG PY=3.12',
    // an ARG with a default in the file: the pin is written through it
    r.pick(
      `FROM ${image(r)} AS build`,
      'FROM python:${PY}-slim AS build',
      `FROM --platform=$BUILDPLATFORM "${image(r)}" AS build`,
      `FROM \\\n    ${image(r)} AS build`
    ),
    `COPY --from=${image(r)} /src /dst`,
    `RUN --mount=type=cache,from=${image(r)},target=/cache make`,
    `FROM ${image(r)}`,
    ''
  ]
  const compose = [
    'services:',
    '  api:',
    `    image: ${yamlValue(r, image(r))}${comment(r)}`,
    '  cache:',
    `    image: ${r.pick(yamlValue(r, image(r)), 'redis:${REDIS_TAG:-7}')}`,
    `  worker: {image: ${yamlValue(r, image(r))}, restart: always}`,
    ''
  ]
  const manifest = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: web}',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: web',
    `          image: ${yamlValue(r, image(r))}${comment(r)}`,
    `        - {name: sidecar, image: ${yamlValue(r, image(r))}}`,
    ''
  ]
  const kustomization = [
    'resources:',
    '  - web.yaml',
    'images:',
    '  - name: nginx',
    ...r.pick(
      [`    newTag: ${yamlValue(r, r.pick(...TAGS))}${comment(r)}`],
      ['    newName: ghcr.io/acme/nginx', `    newTag: ${yamlValue(r, r.pick(...TAGS))}`],
      [`    newName: ghcr.io/acme/nginx`]
    ),
    'patches:',
    '  - path: sidecar.json',
    '    target: {kind: Pod, name: web}',
    ''
  ]
  const patch = [
    '[',
    '  {',
    '    "op": "replace",',
    '    "path": "/spec/containers/1/image",',
    `    "value": "${image(r)}"`,
    '  }',
    ']',
    ''
  ]
  const kustomized = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: web}',
    'spec:',
    '  containers:',
    '    - name: web',
    '      image: nginx:1.25',
    '    - name: sidecar',
    '      image: busybox:1.36',
    ''
  ]
  const values = [
    'image:',
    `  repository: ${r.pick('ghcr.io/acme/api', 'bitnami/redis')}`,
    ...r.pick(
      [`  tag: ${yamlValue(r, r.pick(...TAGS))}`],
      ['  tag: ""'],
      ['  tag: "7.2"', '  digest: ""']
    ),
    `sidecarImage: ${yamlValue(r, image(r))}`,
    ''
  ]
  const workflow = [
    'on: push',
    'jobs:',
    '  test:',
    '    runs-on: ubuntu-latest',
    r.pick(`    container: ${yamlValue(r, image(r))}`, `    container: {image: ${image(r)}}`),
    '    services:',
    '      db:',
    `        image: ${yamlValue(r, image(r))}`,
    '    steps:',
    `      - uses: docker://${image(r)}${comment(r)}`,
    '      - uses: docker/build-push-action@v6',
    '        with:',
    '          context: app',
    '          build-contexts: |',
    `            base=docker-image://${image(r)}`,
    ''
  ]
  const bake = [
    'variable "TAG" { default = "3.20" }',
    'target "default" {',
    '  context = "bake"',
    '  contexts = {',
    `    base = "${r.pick(`docker-image://${image(r)}`, 'docker-image://alpine:${TAG}')}"`,
    '  }',
    '}',
    ''
  ]
  const lineBreak = r.pick('\n', '\r\n')
  const files: Record<string, string> = {
    Dockerfile: dockerfile.join('\n'),
    'compose.yaml': compose.join('\n'),
    'k8s/web.yaml': manifest.join('\n'),
    'deploy/kustomization.yaml': kustomization.join('\n'),
    'deploy/web.yaml': kustomized.join('\n'),
    'deploy/sidecar.json': patch.join('\n'),
    'app/Dockerfile': 'FROM base\n',
    'chart/Chart.yaml': 'apiVersion: v2\nname: api\nversion: 1.0.0\nappVersion: "2.0.1"\n',
    'chart/values.yaml': values.join('\n'),
    '.github/workflows/ci.yml': workflow.join('\n'),
    'docker-bake.hcl': bake.join('\n'),
    'bake/Dockerfile': 'FROM base\n'
  }
  // every file of the repository with the same line ending, as an editor leaves them
  return Object.fromEntries(
    Object.entries(files).map(([path, text]) => [path, text.replaceAll('\n', lineBreak)])
  )
}

/** A digest for each image, made from its name. */
const digestOf = (image: ImageReference) => ({
  digest: `sha256:${createHash('sha256').update(formatReference(image)).digest('hex')}`
})

/** What a scan says, place aside: which file names which image, of which kind. */
const read = (references: FoundReference[]) =>
  references.map(r => `${r.file} ${r.kind} ${r.image ? formatReference(r.image) : r.error}`).sort()

/**
 * The pinned file is the written one with digests added: in a value (`@sha256:…`), in an
 * empty `digest: ""`, an empty Helm tag written out as the chart's appVersion, or on lines of
 * their own (a Kustomize entry's `digest:`, with the `newTag:` it keeps).
 */
function unchangedBesidesPins(written: string, pinned: string): void {
  const lineBreak = written.includes('\r\n') ? '\r\n' : '\n'
  expect(pinned.replaceAll(lineBreak, '').includes(lineBreak === '\n' ? '\r' : '\n')).toBe(false)
  const before = written.split(lineBreak)
  let at = 0
  for (const line of pinned.split(lineBreak)) {
    const bare = line.replace(/@?sha256:[0-9a-f]{64}/, '')
    if (bare === before[at] || bare === before[at]?.replace('tag: ""', 'tag: "2.0.1"')) at++
    else expect(bare).toMatch(/^ +(digest: |newTag: "[^"]+")$/)
  }
  expect(at).toBe(before.length)
}

describe('pin then scan is scan with the digests added', () => {
  it.each(Array.from({ length: 40 }, (_, seed) => seed + 1))(
    'random repository %i: every reference pinned, read back the same, a second pin changes nothing',
    async seed => {
      const files = repository(random(seed))
      const root = mkdtempSync(join(tmpdir(), 'bid-pin-property-'))
      try {
        writeTree(root, files)
        const before = await discoverDirectory(root)
        expect(before.errors).toEqual([])
        const pinned = pinReferences(root, before.references, digestOf, true)
        expect(pinned.results.filter(r => r.status !== 'pinned')).toEqual([])
        // every kind of every source is in each repository
        expect(new Set(before.references.map(r => r.kind)).size).toBe(15)
        expect(pinned.results).toHaveLength(before.references.length)

        const after = await discoverDirectory(root)
        expect(after.errors).toEqual([])
        expect(read(after.references)).toEqual(
          read(
            before.references.map(r => ({
              ...r,
              image: { ...r.image!, ...digestOf(r.image!) }
            }))
          )
        )
        // only the images' characters changed: every other character, and every line ending, as written
        for (const [path, text] of Object.entries(files))
          unchangedBesidesPins(text, readFileSync(join(root, path), 'utf8'))

        const again = pinReferences(root, after.references, digestOf, true)
        expect(again.changed).toEqual([])
        expect(again.results.every(r => r.status === 'already-pinned')).toBe(true)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }
  )
})
