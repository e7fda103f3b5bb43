import { parseReference } from '../src/reference/reference.js'
import { pinLine } from '../src/report/remedy.js'
import type { FoundReference } from '../src/sources/source.js'
import { found } from './helpers/references.js'

const digest = `sha256:${'a'.repeat(64)}`
const finding = (reference: FoundReference) => ({
  reference,
  parsed: reference.image ?? parseReference('unused')
})

describe('the pin line', () => {
  it.each([
    [
      {
        ...found('python:3.12-slim'),
        source: 'FROM --platform=$BUILDPLATFORM python:3.12-slim AS build'
      },
      `FROM --platform=$BUILDPLATFORM python:3.12-slim@${digest} AS build`
    ],
    [{ ...found('python:3.12-slim'), source: 'FROM ${BASE}' }, `FROM \${BASE}@${digest}`],
    [
      { ...found('redis:7'), kind: 'compose', source: 'image: redis:7' },
      `image: redis:7@${digest}`
    ],
    [
      { ...found('docker/dockerfile:1'), kind: 'syntax', source: '# syntax=docker/dockerfile:1' },
      `# syntax=docker.io/docker/dockerfile:1@${digest}`
    ],
    [
      {
        ...found('nginx:1.27'),
        kind: 'copy-from',
        source: 'COPY --from=nginx:1.27 /etc/nginx /etc/nginx'
      },
      `COPY --from=nginx:1.27@${digest} /etc/nginx /etc/nginx`
    ],
    [
      {
        ...found('ghcr.io/org/cache:1'),
        kind: 'mount-from',
        source:
          'RUN --mount=type=bind,from=0 --mount=type=cache,from=ghcr.io/org/cache:1,target=/c make'
      },
      `RUN --mount=type=bind,from=0 --mount=type=cache,from=ghcr.io/org/cache:1@${digest},target=/c make`
    ]
  ] as [FoundReference, string][])('pins %j', (reference, line) => {
    expect(pinLine(finding(reference), digest)).toBe(line)
  })
})
