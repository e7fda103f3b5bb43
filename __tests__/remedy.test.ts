import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatReference, parseReference } from '../src/reference/reference.js'
import { SOURCES } from '../src/sources/index.js'
import type { FoundReference } from '../src/sources/read/source.js'
import { pinLineIn } from './helpers/pin.js'
import { pinPlaces } from '../src/pin/place.js'
import { pinReferences } from '../src/pipeline/pin.js'
import { FileText } from '../src/sources/read/pin-site.js'
import { discoverDirectory, writeTree } from './helpers/references.js'
import { sha } from './helpers/scan-context.js'

const digest = sha('a')

/** A repository with every kind of reference, each written as teams write it: quotes, comments, variables. */
const FILES: Record<string, string> = {
  Dockerfile: [
    '# syntax=docker/dockerfile:1',
    'ARG PYTHON_VERSION=3.12',
    'FROM --platform=$BUILDPLATFORM python:${PYTHON_VERSION}-slim AS build',
    'COPY --from=nginx:1.27 /etc/nginx /etc/nginx',
    'RUN --mount=type=bind,from=0 --mount=type=cache,from=ghcr.io/org/cache:1,target=/c make',
    ''
  ].join('\n'),
  'compose.yaml': 'services:\n  cache:\n    image: "redis:7"   # sessions\n',
  'k8s/base/web.yaml':
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.24\n        - name: sidecar\n          image: busybox:1.36\n',
  'k8s/job.yaml':
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: job\nspec:\n  containers:\n    - name: job\n      image: 'ghcr.io/acme/job:2'\n",
  'k8s/base/kustomization.yaml':
    'resources:\n  - web.yaml\nimages:\n  - name: nginx\n    newTag: "1.25" # LTS\npatches:\n  - path: sidecar.json\n    target: {kind: Deployment, name: web}\n',
  'k8s/base/sidecar.json':
    '[\n  {\n    "op": "replace",\n    "path": "/spec/template/spec/containers/1/image",\n    "value": "busybox:1.37"\n  }\n]\n',
  'chart/Chart.yaml': 'apiVersion: v2\nname: api\nversion: 1.0.0\nappVersion: "3.2.1"\n',
  'chart/values.yaml':
    "image:\n  repository: ghcr.io/acme/api\n  tag: '3.2.1'\npauseImage: registry.k8s.io/pause:3.9 # sandbox\n",
  '.github/workflows/ci.yml': [
    'on: push',
    'jobs:',
    '  test:',
    '    runs-on: ubuntu-latest',
    '    container: {image: "node:22", options: --user 1001}',
    '    services:',
    '      db:',
    '        image: postgres:16',
    '    steps:',
    '      - uses: docker://alpine:3.20',
    '      - uses: docker/build-push-action@v6',
    '        with:',
    '          context: app',
    '          build-contexts: |',
    '            base=docker-image://alpine:3.19',
    ''
  ].join('\n'),
  'app/Dockerfile': 'FROM base\n',
  'docker-bake.hcl':
    'target "default" {\n  context = "bake"\n  contexts = {\n    base = "docker-image://alpine:3.18" # the runtime\n  }\n}\n',
  'bake/Dockerfile': 'FROM base\n'
}

/** Each kind's first reference, pinned in its own file's form. */
const PINS: [kind: string, file: string, image: string, pinned: string][] = [
  ['syntax', 'Dockerfile', 'docker/dockerfile:1', `# syntax=docker/dockerfile:1@${digest}`],
  [
    'from',
    'Dockerfile',
    'python:3.12-slim',
    // the ARG is kept: the pin is written through it
    `FROM --platform=$BUILDPLATFORM python:\${PYTHON_VERSION}-slim@${digest} AS build`
  ],
  [
    'copy-from',
    'Dockerfile',
    'nginx:1.27',
    `COPY --from=nginx:1.27@${digest} /etc/nginx /etc/nginx`
  ],
  [
    'mount-from',
    'Dockerfile',
    'ghcr.io/org/cache:1',
    `RUN --mount=type=bind,from=0 --mount=type=cache,from=ghcr.io/org/cache:1@${digest},target=/c make`
  ],
  ['compose', 'compose.yaml', 'redis:7', `image: "redis:7@${digest}"   # sessions`],
  ['kubernetes', 'k8s/job.yaml', 'ghcr.io/acme/job:2', `image: 'ghcr.io/acme/job:2@${digest}'`],
  [
    'kustomize',
    'k8s/base/kustomization.yaml',
    'nginx:1.25',
    // Kustomize writes `name:newTag@digest` when an entry has both (api/filters/imagetag/updater.go)
    `newTag: "1.25" # LTS\ndigest: ${digest}`
  ],
  [
    'kustomize-json-patch',
    'k8s/base/sidecar.json',
    'busybox:1.37',
    `"value": "busybox:1.37@${digest}"`
  ],
  ['helm-values', 'chart/values.yaml', 'ghcr.io/acme/api:3.2.1', `tag: '3.2.1@${digest}'`],
  [
    'helm-values-reference',
    'chart/values.yaml',
    'registry.k8s.io/pause:3.9',
    `pauseImage: registry.k8s.io/pause:3.9@${digest} # sandbox`
  ],
  [
    'workflow-container',
    '.github/workflows/ci.yml',
    'node:22',
    `container: {image: "node:22@${digest}", options: --user 1001}`
  ],
  ['workflow-service', '.github/workflows/ci.yml', 'postgres:16', `image: postgres:16@${digest}`],
  [
    'workflow-step',
    '.github/workflows/ci.yml',
    'alpine:3.20',
    `- uses: docker://alpine:3.20@${digest}`
  ],
  [
    'build-context',
    '.github/workflows/ci.yml',
    'alpine:3.19',
    `base=docker-image://alpine:3.19@${digest}`
  ],
  [
    'bake-context',
    'docker-bake.hcl',
    'alpine:3.18',
    `base = "docker-image://alpine:3.18@${digest}" # the runtime`
  ]
]

describe('the pin line, in the form its own file writes it', () => {
  let root: string
  let references: FoundReference[]

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'bid-remedy-'))
    writeTree(root, FILES)
    const found = await discoverDirectory(root)
    expect(found.errors).toEqual([])
    references = found.references
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it.each(PINS)('%s in %s', (kind, file, image, pinned) => {
    const reference = references.find(
      r => r.kind === kind && r.image && formatReference(r.image) === normalized(image)
    )
    expect(reference?.file).toBe(file)
    expect(pinLineIn(FILES[file], reference!, digest)).toBe(pinned)
  })

  it('covers every kind a source declares', () => {
    const kinds = new Set(SOURCES.flatMap(s => s.kinds.map(k => k.name)))
    expect(PINS.map(([kind]) => kind).sort()).toEqual([...kinds].sort())
  })
})

const normalized = (image: string) => formatReference(parseReference(image))

describe('what cannot be pinned on its line, and why', () => {
  const LAYOUTS: [what: string, files: Record<string, string>, why: string][] = [
    [
      'an ARG with no default in the file',
      { Dockerfile: 'ARG BASE\nFROM ${BASE}\n' },
      'its image comes from ARG BASE, which has no default here: pin it where BASE is set'
    ],
    [
      'a tag per platform',
      { Dockerfile: 'FROM ghcr.io/acme/app:$TARGETARCH\n' },
      "its image depends on the platform (`$TARGETARCH`): one digest cannot pin each platform's image"
    ],
    [
      'a Compose variable with no default',
      { 'compose.yaml': 'services:\n  cache:\n    image: redis:${REDIS_TAG}\n' },
      'its image comes from ${REDIS_TAG}, which has no default here: pin it where REDIS_TAG is set'
    ],
    [
      'a workflow expression',
      {
        '.github/workflows/ci.yml':
          'on: push\njobs:\n  test:\n    strategy:\n      matrix:\n        image: ["node:22"]\n    runs-on: ubuntu-latest\n    container: ${{ matrix.image }}\n    steps: [{run: npm test}]\n'
      },
      'its image is an expression (`${{ … }}`): pin it where the value is set'
    ],
    [
      'one line that two builds read as two images',
      {
        'compose.yaml':
          'services:\n  api:\n    build: {context: ., args: {PY: "3.11"}}\n  worker:\n    build: {context: ., args: {PY: "3.12"}}\n',
        Dockerfile: 'ARG PY=3.12\nFROM python:${PY}-slim\n'
      },
      'the line names 2 images (docker.io/library/python:3.11-slim, docker.io/library/python:3.12-slim) through its variables: one digest cannot pin them all'
    ]
  ]

  it.each(LAYOUTS)('%s', async (_, files, why) => {
    const root = mkdtempSync(join(tmpdir(), 'bid-unpinnable-'))
    try {
      writeTree(root, files)
      const found = await discoverDirectory(root, {
        buildArgs: { BASE: 'alpine:3.20' },
        variables: { REDIS_TAG: '7' }
      })
      expect(found.references.length).toBeGreaterThan(0)
      for (const reference of found.references) {
        const places = pinPlaces(
          new FileText(reference.file, files[reference.file]),
          found.references
        )
        expect(places.get(reference)).toEqual({ unpinnable: why })
      }
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe('pinning what is hard to pin', () => {
  const digest = sha('f')
  // [what, files, the file pinned, its text after, or why it is left]
  const CASES: [string, Record<string, string>, string, string][] = [
    [
      'a continuation whose comment ends the file',
      { Dockerfile: '# syntax=docker/dockerfile:1\nFROM redis:7 \\\n# the end' },
      'Dockerfile',
      `# syntax=docker/dockerfile:1@${digest}\nFROM redis:7@${digest} \\\n# the end`
    ],
    [
      'an escape right after the image, the next line going on with AS',
      { Dockerfile: 'FROM redis:7\\\r\n  AS build\r\nRUN true\r\n' },
      'Dockerfile',
      `FROM redis:7@${digest}\\\r\n  AS build\r\nRUN true\r\n`
    ],
    [
      'an image split over two lines',
      { Dockerfile: 'FROM redis:\\\n7\n' },
      'Dockerfile',
      'its image is split over continuation lines: join it to pin it'
    ],
    [
      '# escape= after a comment, which BuildKit does not read as a directive',
      { Dockerfile: '# hello\n# escape=`\nFROM \\\n  alpine:3\n' },
      'Dockerfile',
      `# hello\n# escape=\`\nFROM \\\n  alpine:3@${digest}\n`
    ],
    [
      "the image of a line's second --mount, its first a stage",
      {
        Dockerfile:
          'FROM alpine:3 AS builder\nFROM alpine:3\nRUN --mount=from=builder,target=/a --mount=type=bind,from=nginx:1,target=/b true\n'
      },
      'Dockerfile',
      `FROM alpine:3@${digest} AS builder\nFROM alpine:3@${digest}\nRUN --mount=from=builder,target=/a --mount=type=bind,from=nginx:1@${digest},target=/b true\n`
    ],
    [
      'a digest a variable gives',
      { Dockerfile: `ARG BASE=redis:7@${sha('a')}\nFROM \${BASE}\n` },
      'Dockerfile',
      'its digest comes from a variable: pin it where the variable is set'
    ],
    [
      "a digest in a Compose variable's default",
      { 'compose.yaml': `services:\n  cache:\n    image: \${IMG:-redis:7@${sha('a')}}\n` },
      'compose.yaml',
      'its digest is in a variable: pin it where the variable is set'
    ],
    [
      'two images on one line of a flow map',
      { 'compose.yaml': 'services: {a: {image: redis:7}, b: {image: "nginx:1"}}\n' },
      'compose.yaml',
      `services: {a: {image: redis:7@${digest}}, b: {image: "nginx:1@${digest}"}}\n`
    ],
    [
      'two Bake contexts on one line',
      {
        'docker-bake.hcl':
          'target "default" {\n  context = "app"\n  contexts = { a = "docker-image://alpine:3.18", b = "docker-image://redis:7" }\n}\n',
        'app/Dockerfile': 'FROM a\nFROM b\n'
      },
      'docker-bake.hcl',
      `target "default" {\n  context = "app"\n  contexts = { a = "docker-image://alpine:3.18@${digest}", b = "docker-image://redis:7@${digest}" }\n}\n`
    ],
    [
      'a Kustomize entry with an empty digest and no newTag: the tag is kept beside it',
      {
        'k/kustomization.yaml':
          'resources: [web.yaml]\nimages:\n  - name: nginx\n    newName: ghcr.io/acme/nginx\n    digest: ""\n',
        'k/web.yaml':
          'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - {name: web, image: "nginx:1.25"}\n'
      },
      'k/kustomization.yaml',
      `resources: [web.yaml]\nimages:\n  - name: nginx\n    newName: ghcr.io/acme/nginx\n    newTag: "1.25"\n    digest: "${digest}"\n`
    ],
    [
      'Helm: an empty digest, a number tag, a null tag',
      {
        'chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: "2.0.1"\n',
        'chart/values.yaml':
          'image:\n  repository: bitnami/redis\n  tag: 7.2\n  digest:\nworker:\n  image:\n    repository: acme/worker\n    tag: 3\njob:\n  image:\n    repository: acme/job\n    tag: null\n'
      },
      'chart/values.yaml',
      `image:\n  repository: bitnami/redis\n  tag: 7.2\n  digest: ${digest}\nworker:\n  image:\n    repository: acme/worker\n    tag: 3@${digest}\njob:\n  image:\n    repository: acme/job\n    tag: 2.0.1@${digest}\n`
    ]
  ]

  CASES.push([
    'a Helm tag that is a number rendered otherwise',
    {
      'chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\n',
      'chart/values.yaml': 'image:\n  repository: acme/worker\n  tag: 1.10\n'
    },
    'chart/values.yaml',
    'its tag 1.10 is a number Helm renders as 1.1: quote it to pin it'
  ])

  CASES.push(
    [
      'an unpinned context beside a pinned one of the same image',
      {
        'docker-bake.hcl': `target "default" {\n  context = "app"\n  contexts = { a = "docker-image://redis:7@${sha('1')}", b = "docker-image://redis:7" }\n}\n`,
        'app/Dockerfile': 'FROM a\nFROM b\n'
      },
      'docker-bake.hcl',
      `target "default" {\n  context = "app"\n  contexts = { a = "docker-image://redis:7@${sha('1')}", b = "docker-image://redis:7@${digest}" }\n}\n`
    ],
    [
      'empty values followed by a comment',
      {
        'k/kustomization.yaml':
          'resources: [web.yaml]\nimages:\n  - name: nginx\n    newTag: "1.25"\n    digest:   # filled in by pin\n',
        'k/web.yaml':
          'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - {name: web, image: nginx}\n'
      },
      'k/kustomization.yaml',
      `resources: [web.yaml]\nimages:\n  - name: nginx\n    newTag: "1.25"\n    digest: ${digest}   # filled in by pin\n`
    ],
    [
      'an empty Helm tag followed by a comment',
      {
        'chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: "2.0.1"\n',
        'chart/values.yaml': 'image:\n  repository: acme/api\n  tag:   # the appVersion\n'
      },
      'chart/values.yaml',
      `image:\n  repository: acme/api\n  tag: 2.0.1@${digest}   # the appVersion\n`
    ]
  )

  it.each(CASES)('%s', async (_, files, file, after) => {
    const root = mkdtempSync(join(tmpdir(), 'bid-hard-pins-'))
    try {
      writeTree(root, files)
      const before = await discoverDirectory(root)
      expect(before.errors).toEqual([])
      const { results } = pinReferences(root, before.references, () => ({ digest }), true)
      const pinned = readFileSync(join(root, file), 'utf8')
      if (after.startsWith('its ')) {
        // said of the pin line the report shows (a bump of a stale pin, too), and never written
        const places = pinPlaces(new FileText(file, files[file]), before.references)
        expect([...places.values()]).toContainEqual({ unpinnable: after })
        expect(results.every(r => r.status !== 'pinned')).toBe(true)
        expect(pinned).toBe(files[file])
        return
      }
      expect(pinned).toBe(after)
      // read back: every reference of the file is the same image, now at the digest
      const again = await discoverDirectory(root)
      expect(again.errors).toEqual([])
      const of = (refs: FoundReference[]) =>
        refs
          .filter(r => r.file === file)
          .map(r => formatReference({ ...r.image!, digest: undefined }))
      expect(of(again.references).sort()).toEqual(of(before.references).sort())
      // each pinned, to this digest unless it was pinned already
      expect(
        again.references.filter(r => r.file === file).every(r => r.image?.digest !== undefined)
      ).toBe(true)
      expect(again.references.some(r => r.file === file && r.image?.digest === digest)).toBe(true)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
