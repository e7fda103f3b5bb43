import { builds } from './helpers/references.js'
import { formatReference } from '../src/reference/reference.js'
import { scanCompose } from '../src/sources/compose/compose.js'

describe('Compose scanning', () => {
  const compose = `services:
  db:
    image: postgres:\${PG_VERSION:-16}
  cache:
    image: "\${REGISTRY-ghcr.io}/org/redis:\${REDIS_TAG:-7}"
    platform: linux/arm64
  app:
    build:
      context: ./app
      dockerfile: Containerfile
      args:
        BASE: python:3.12-slim
        TAG: \${TAG:-dev}
    image: myorg/app:latest
  worker:
    build: ./worker
  proxy:
    image: \${PROXY_IMAGE:-nginx:1.27-alpine}
`

  it('reads image: of services without build:, with line and column of the value', () => {
    const result = scanCompose('compose.yaml', compose, { PG_VERSION: '15' })
    expect(
      result.references.map(r => [
        r.line,
        r.column,
        r.image && formatReference(r.image),
        r.platform ?? null,
        r.source
      ])
    ).toEqual([
      [3, 12, 'docker.io/library/postgres:15', null, 'image: postgres:${PG_VERSION:-16}'],
      [
        5,
        12,
        'ghcr.io/org/redis:7',
        'linux/arm64',
        'image: ${REGISTRY-ghcr.io}/org/redis:${REDIS_TAG:-7}'
      ],
      [
        18,
        12,
        'docker.io/library/nginx:1.27-alpine',
        null,
        'image: ${PROXY_IMAGE:-nginx:1.27-alpine}'
      ]
    ])
  })

  it('gives the Dockerfiles that services build, with their build args', () => {
    expect(builds(scanCompose('compose.yaml', compose, {}))).toEqual([
      {
        by: 'service "app"',
        dockerfile: 'app/Containerfile',
        fromRoot: true,
        buildArgs: { BASE: 'python:3.12-slim', TAG: 'dev' },
        line: 9,
        localImages: ['docker.io/myorg/app:latest']
      },
      {
        by: 'service "worker"',
        dockerfile: 'worker/Dockerfile',
        fromRoot: true,
        buildArgs: {},
        line: 16,
        localImages: ['docker.io/myorg/app:latest']
      }
    ])
  })

  it('takes list-form build args, a bare name from the environment', () => {
    const file =
      'services:\n  a:\n    build:\n      context: .\n      args:\n        - BASE=alpine:3.20\n        - FROM_ENV\n        - MISSING\n'
    expect(builds(scanCompose('compose.yml', file, { FROM_ENV: 'x' }))[0].buildArgs).toEqual({
      BASE: 'alpine:3.20',
      FROM_ENV: 'x'
    })
  })

  it('treats $$ as a literal dollar and reports unset variables as errors', () => {
    const file =
      'services:\n  a:\n    image: alpine:$$x\n  b:\n    image: alpine:${NOPE}\n  c:\n    image: ${EMPTY:-}\n'
    expect(scanCompose('compose.yml', file, {}).references.map(r => r.error)).toEqual([
      'invalid image reference "alpine:$x": tag "$x" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}',
      'variable NOPE is not set and has no default',
      'the image name expands to an empty string'
    ])
  })

  it('gives one error with the line for invalid YAML', () => {
    const result = scanCompose('compose.yml', 'services:\n  a:\n    image: [unclosed\n', {})
    expect(result.references).toEqual([])
    expect(result.errors).toHaveLength(1)
    expect(result.errors[0]).toMatchObject({ file: 'compose.yml', line: 4 })
    expect(result.errors[0].message).toMatch(/^invalid YAML, file not scanned: /)
  })

  it('warns about builds it cannot follow instead of dropping them', () => {
    const file =
      'services:\n  a:\n    build:\n      dockerfile_inline: "FROM alpine"\n  b:\n    build: https://github.com/org/repo.git\n'
    expect(scanCompose('compose.yml', file, {}).warnings).toEqual([
      {
        file: 'compose.yml',
        line: 4,
        message: 'service "a": inline or remote build context not scanned'
      },
      {
        file: 'compose.yml',
        line: 6,
        message: 'service "b": inline or remote build context not scanned'
      }
    ])
  })
})
