import { parseReference } from '../src/reference/reference.js'
import { pinLine } from '../src/report/remedy.js'
import { SOURCES } from '../src/sources/index.js'
import { found } from './helpers/references.js'

const digest = `sha256:${'a'.repeat(64)}`

/**
 * Each kind's pin line, in the form its own file writes it: [kind, the line as written,
 * its image, the line pinned]. Every kind a source declares is here.
 */
const PINS: [string, string, string, string][] = [
  [
    'from',
    'FROM --platform=$BUILDPLATFORM python:3.12-slim AS build',
    'python:3.12-slim',
    `FROM --platform=$BUILDPLATFORM python:3.12-slim@${digest} AS build`
  ],
  [
    'copy-from',
    'COPY --from=nginx:1.27 /etc/nginx /etc/nginx',
    'nginx:1.27',
    `COPY --from=nginx:1.27@${digest} /etc/nginx /etc/nginx`
  ],
  [
    'mount-from',
    'RUN --mount=type=bind,from=0 --mount=type=cache,from=ghcr.io/org/cache:1,target=/c make',
    'ghcr.io/org/cache:1',
    `RUN --mount=type=bind,from=0 --mount=type=cache,from=ghcr.io/org/cache:1@${digest},target=/c make`
  ],
  [
    'syntax',
    '# syntax=docker/dockerfile:1',
    'docker/dockerfile:1',
    `# syntax=docker.io/docker/dockerfile:1@${digest}`
  ],
  ['compose', 'image: redis:7', 'redis:7', `image: redis:7@${digest}`],
  ['kubernetes', 'image: nginx:1.27', 'nginx:1.27', `image: nginx:1.27@${digest}`],
  [
    'kustomize',
    'name: nginx, newTag: 1.27',
    'nginx:1.27',
    `- {name: nginx, newTag: 1.27, digest: ${digest}}`
  ],
  ['kustomize-json-patch', 'value: nginx:1.27', 'nginx:1.27', `value: nginx:1.27@${digest}`],
  ['helm-values', 'tag: "3.2.1"', 'ghcr.io/acme/api:3.2.1', `tag: "3.2.1@${digest}"`],
  [
    'helm-values-reference',
    'pauseImage: registry.k8s.io/pause:3.9',
    'registry.k8s.io/pause:3.9',
    `pauseImage: "registry.k8s.io/pause:3.9@${digest}"`
  ],
  ['workflow-container', 'image: node:22', 'node:22', `image: docker.io/library/node:22@${digest}`],
  [
    'workflow-service',
    'image: postgres:16',
    'postgres:16',
    `image: docker.io/library/postgres:16@${digest}`
  ],
  [
    'workflow-step',
    'uses: docker://alpine:3.20',
    'alpine:3.20',
    `uses: docker://docker.io/library/alpine:3.20@${digest}`
  ],
  [
    'build-context',
    'base=docker-image://alpine:3.20',
    'alpine:3.20',
    `base=docker-image://docker.io/library/alpine:3.20@${digest}`
  ],
  [
    'bake-context',
    'base = "docker-image://alpine:3.20"',
    'alpine:3.20',
    `base = "docker-image://docker.io/library/alpine:3.20@${digest}"`
  ]
]

describe('the pin line', () => {
  it.each(PINS)('%s: %s', (kind, source, image, pinned) => {
    const reference = { ...found(image), kind, source }
    expect(pinLine({ reference, parsed: parseReference(image) }, digest)).toBe(pinned)
  })

  it('covers every kind a source declares', () => {
    const kinds = new Set(SOURCES.flatMap(s => s.kinds.map(k => k.name)))
    expect(PINS.map(([kind]) => kind).sort()).toEqual([...kinds].sort())
  })
})
