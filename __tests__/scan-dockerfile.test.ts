import { formatReference } from '../src/reference/reference.js'
import { scanDockerfile } from '../src/sources/dockerfile/dockerfile.js'
import type { DockerfileOptions } from '../src/sources/dockerfile/dockerfile.js'

/** Compact view of what a user reads in `scan`: line, kind, image or error, stage, platform. */
function scan(content: string, options: DockerfileOptions = {}) {
  const result = scanDockerfile('Dockerfile', content, options)
  return result.references.map(r => ({
    line: r.line,
    kind: r.kind,
    image: r.image ? formatReference(r.image) : undefined,
    error: r.error ?? undefined,
    stage: r.stage ?? null,
    platform: r.platform ?? null
  }))
}

const images = (content: string, options: DockerfileOptions = {}) =>
  scan(content, options).map(r => r.image ?? `error: ${r.error}`)

describe('Dockerfile scanning', () => {
  it('reads FROM with stage and platform, keywords in any case', () => {
    expect(
      scan('from --platform=linux/arm64 python:3.12-slim As Build\nFrOm alpine:3.20 aS final\n')
    ).toEqual([
      {
        line: 1,
        kind: 'from',
        image: 'docker.io/library/python:3.12-slim',
        stage: 'build',
        platform: 'linux/arm64'
      },
      {
        line: 2,
        kind: 'from',
        image: 'docker.io/library/alpine:3.20',
        stage: 'final',
        platform: null
      }
    ])
  })

  it('keeps --platform=$BUILDPLATFORM as written', () => {
    expect(scan('FROM --platform=$BUILDPLATFORM golang:1.23 AS build\n')[0].platform).toBe(
      '$BUILDPLATFORM'
    )
  })

  it('expands global ARGs with defaults, quoted defaults, and ARGs that use earlier ARGs', () => {
    const file =
      'ARG REGISTRY=ghcr.io\nARG NAME="team/base"\nARG VERSION=\'1.2\'\nARG IMAGE=${REGISTRY}/${NAME}:${VERSION}\nFROM ${IMAGE}\nFROM $REGISTRY/$NAME\n'
    expect(images(file)).toEqual(['ghcr.io/team/base:1.2', 'ghcr.io/team/base:latest'])
  })

  it('does not let an ARG declared after the first FROM change FROM expansion', () => {
    expect(images('ARG V=3.19\nFROM alpine:$V\nARG V=3.20\nFROM alpine:$V\n')).toEqual([
      'docker.io/library/alpine:3.19',
      'docker.io/library/alpine:3.19'
    ])
  })

  it('applies build args only to globally declared ARGs', () => {
    const file = 'ARG V=1\nFROM alpine:${V}\nFROM debian:${D:-bookworm}\n'
    expect(images(file, { buildArgs: { V: '2', D: 'trixie' } })).toEqual([
      'docker.io/library/alpine:2',
      'docker.io/library/debian:bookworm'
    ])
  })

  it.each([
    ['${SET:-w}', 'set'],
    ['${UNSET:-w}', 'w'],
    ['${EMPTY:-w}', 'w'],
    ['${EMPTY-w}', ''],
    ['${SET:+w}', 'w'],
    ['${EMPTY:+w}', ''],
    ['${EMPTY+w}', 'w'],
    ['${UNSET+w}', '']
  ])('expands %s', (word, value) => {
    const [reference] = images(`ARG SET=set\nARG EMPTY=\nFROM alpine:x${word}\n`)
    expect(reference).toBe(`docker.io/library/alpine:x${value}`)
  })

  it('expands $V', () => {
    expect(images('ARG V=3.20\nFROM alpine:$V\n')).toEqual(['docker.io/library/alpine:3.20'])
  })

  it('sets the automatic platform ARGs from the target platform', () => {
    const file =
      'FROM --platform=$BUILDPLATFORM tonistiigi/xx:${BUILDARCH} AS xx\nFROM base:${TARGETOS}-${TARGETARCH}${TARGETVARIANT}\n'
    expect(images(file, { targetPlatforms: ['linux/arm/v7'] })).toEqual([
      'docker.io/tonistiigi/xx:amd64',
      'docker.io/library/base:linux-armv7'
    ])
    expect(images(file)[1]).toBe('docker.io/library/base:linux-amd64')
  })

  it('gives a globally declared platform ARG its automatic value, and stage ARGs their scope', () => {
    expect(
      images('ARG TARGETARCH\nFROM base:$TARGETARCH\n', { targetPlatforms: ['linux/arm64'] })
    ).toEqual(['docker.io/library/base:arm64'])
    // stage ARGs take their scope in FROM … AS and RUN, but COPY --from expands nothing
    const file = 'ARG V=global\nFROM alpine\nARG V\nRUN echo $V\nFROM alpine:$V\n'
    expect(images(file)).toEqual([
      'docker.io/library/alpine:latest',
      'docker.io/library/alpine:global'
    ])
  })

  it('treats a FROM that expands to an earlier stage as a stage, case-insensitively', () => {
    const file =
      'FROM alpine AS Base-AMD64\nFROM alpine AS base-arm64\nFROM BASE-${TARGETARCH}\nRUN true\n'
    expect(images(file)).toEqual([
      'docker.io/library/alpine:latest',
      'docker.io/library/alpine:latest'
    ])
  })

  it('treats a stage name used before it is declared as an image', () => {
    expect(images('FROM builder\nFROM alpine AS builder\n')).toEqual([
      'docker.io/library/builder:latest',
      'docker.io/library/alpine:latest'
    ])
  })

  it('skips scratch', () => {
    expect(images('FROM scratch\nCOPY a /a\n')).toEqual([])
  })

  it('reads COPY --from images, not stage names or indexes', () => {
    const file =
      'FROM golang:1.23 AS Build\nFROM alpine\nCOPY --from=0 /a /a\nCOPY --from=BUILD /b /b\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n'
    expect(scan(file).slice(2)).toEqual([
      {
        line: 5,
        kind: 'copy-from',
        image: 'docker.io/library/nginx:1.27',
        stage: null,
        platform: null
      }
    ])
  })

  // BuildKit's dockerfile2llb (toCommand) expands --from with no variables and refuses any
  // change ("variable expansion is not supported for --from"); its mount parser refuses a `$`
  // in from= ("doesn't support variable expansion"); ADD has no --from flag. Each fails the
  // whole build, so the file pulls nothing and its stage names never become images.
  it.each([
    [
      'COPY --from=img:$V / /',
      'COPY --from=img:$V: BuildKit does not expand variables in --from; name a stage FROM the image (with an ARG) and copy from that stage'
    ],
    [
      'COPY --from=${STAGE} / /',
      'COPY --from=${STAGE}: BuildKit does not expand variables in --from; name a stage FROM the image (with an ARG) and copy from that stage'
    ],
    [
      'RUN --mount=type=bind,from=$TOOLS,target=/t make',
      '--mount from=$TOOLS: BuildKit does not expand variables in from=; name a stage FROM the image (with an ARG) and mount from that stage'
    ],
    [
      'ADD --from=busybox:1.36 /bin/sh /sh',
      'ADD has no --from flag (BuildKit refuses it): use COPY --from'
    ]
  ])('%s fails the build: an error on its line, and nothing else of the file', (line, error) => {
    const file = `ARG V=1\nFROM golang:1.23 AS builder\nFROM alpine\nCOPY --from=builder /a /a\n${line}\n`
    expect(scan(file)).toEqual([
      { line: 5, kind: expect.any(String), image: undefined, error, stage: null, platform: null }
    ])
  })

  it('a template matched by Dockerfile.* builds nothing: a notice, and no stage becomes an image', () => {
    for (const text of [
      'FROM {{ base_image }} AS builder\nRUN make\nFROM alpine\nCOPY --from=builder /app /app\n',
      '{% if prod %}\nFROM python:3.12\n{% endif %}\nFROM alpine\n'
    ]) {
      const scanned = scanDockerfile('Dockerfile.j2', text)
      expect(scanned.references).toEqual([])
      expect(scanned.warnings).toEqual([])
      expect(scanned.notices).toEqual([
        {
          file: 'Dockerfile.j2',
          line: 1,
          message:
            'a template ({{ … }}, {% … %}): BuildKit cannot build it as it is, so it is not scanned'
        }
      ])
    }
  })

  it('a FROM BuildKit cannot parse builds nothing: its stage names never become images', () => {
    const file = 'FROM golang:1.23 AS builder extra\nFROM alpine\nCOPY --from=builder /a /a\n'
    expect(scan(file)).toEqual([
      {
        line: 1,
        kind: 'from',
        image: undefined,
        error: 'FROM takes IMAGE [AS name], not "golang:1.23 AS builder extra"',
        stage: null,
        platform: null
      }
    ])
  })

  it('reads RUN --mount from= images, not stages', () => {
    const file =
      'FROM alpine AS tools\nFROM debian AS final\nRUN --mount=type=bind,from=tools,target=/t --mount=type=cache,target=/c,from=ghcr.io/org/cache:1 --mount=from=1 make\n'
    expect(scan(file).slice(2)).toEqual([
      { line: 3, kind: 'mount-from', image: 'ghcr.io/org/cache:1', stage: 'final', platform: null }
    ])
  })

  it('reads # syntax= only as a parser directive', () => {
    expect(scan('# syntax=docker/dockerfile:1.7\nFROM alpine\n')[0]).toEqual({
      line: 1,
      kind: 'syntax',
      image: 'docker.io/docker/dockerfile:1.7',
      stage: null,
      platform: null
    })
    expect(images('# a comment first\n# syntax=docker/dockerfile:1\nFROM alpine\n')).toEqual([
      'docker.io/library/alpine:latest'
    ])
    expect(images('FROM alpine\n# syntax=docker/dockerfile:1\n')).toEqual([
      'docker.io/library/alpine:latest'
    ])
  })

  it('honours # escape= with a backtick', () => {
    const file =
      '# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS build\nCOPY C:\\src C:\\dst\n'
    expect(scan(file)).toEqual([
      {
        line: 2,
        kind: 'from',
        image: 'mcr.microsoft.com/windows/servercore:ltsc2022',
        stage: 'build',
        platform: null
      }
    ])
  })

  it('accepts CRLF line endings and a UTF-8 BOM', () => {
    expect(
      scan('\uFEFF# syntax=docker/dockerfile:1\r\nFROM alpine:3.20 \\\r\n  AS base\r\n')
    ).toEqual([
      {
        line: 1,
        kind: 'syntax',
        image: 'docker.io/docker/dockerfile:1',
        stage: null,
        platform: null
      },
      {
        line: 2,
        kind: 'from',
        image: 'docker.io/library/alpine:3.20',
        stage: 'base',
        platform: null
      }
    ])
  })

  it('drops comment lines inside continuations', () => {
    expect(scan('FROM \\\n# the base\n  alpine:3.20 \\\n\n  AS base\n')).toEqual([
      {
        line: 1,
        kind: 'from',
        image: 'docker.io/library/alpine:3.20',
        stage: 'base',
        platform: null
      }
    ])
  })

  it('reads heredoc bodies as text, never as instructions', () => {
    const file =
      'FROM alpine\nRUN <<EOF\nFROM evil:1\nEOF\nCOPY <<-"CONF" /etc/x\n\tFROM also-text\n\tCONF\nFROM debian\n'
    expect(scan(file).map(r => [r.line, r.image])).toEqual([
      [1, 'docker.io/library/alpine:latest'],
      [8, 'docker.io/library/debian:latest']
    ])
  })

  it('reads tag@digest, digest-only references, hosts with ports and localhost', () => {
    const digest = 'sha256:' + 'a'.repeat(64)
    expect(
      images(
        `FROM python:3.12@${digest}\nFROM alpine@${digest}\nFROM registry.example.com:5000/team/app:1\nFROM localhost/app\nFROM localhost:5000/app:2\n`
      )
    ).toEqual([
      `docker.io/library/python:3.12@${digest}`,
      `docker.io/library/alpine@${digest}`,
      'registry.example.com:5000/team/app:1',
      'localhost/app:latest',
      'localhost:5000/app:2'
    ])
  })

  it('reports an uppercase repository, an unset variable and an empty expansion as errors on their line', () => {
    expect(scan('ARG EMPTY=\nFROM Ubuntu:22.04\nFROM alpine:$NOPE\nFROM ${EMPTY}\n')).toEqual([
      {
        line: 2,
        kind: 'from',
        error: 'invalid image reference "Ubuntu:22.04": repository name must be lowercase',
        stage: null,
        platform: null
      },
      {
        line: 3,
        kind: 'from',
        error: 'variable NOPE is not set and has no default',
        stage: null,
        platform: null
      },
      {
        line: 4,
        kind: 'from',
        error: 'the image name expands to an empty string',
        stage: null,
        platform: null
      }
    ])
  })

  it('reports malformed FROM instructions as errors on their line', () => {
    expect(
      scan('FROM\nFROM a b\nFROM --pull=always alpine\nFROM alpine AS 1bad\n').map(r => [
        r.line,
        r.error
      ])
    ).toEqual([
      [1, 'FROM needs an image: FROM [--platform=P] IMAGE [AS name]'],
      [2, 'FROM takes IMAGE [AS name], not "a b"'],
      [3, 'unknown flag --pull on FROM: only --platform is allowed'],
      [
        4,
        'invalid stage name "1bad": it must start with a letter and contain only letters, digits, -, _ and .'
      ]
    ])
  })

  it('gives the 1-based column of the instruction and its source text', () => {
    const [reference] = scanDockerfile(
      'Dockerfile',
      '\n   FROM alpine:3.20 \\\n     AS base\n'
    ).references
    expect(reference).toMatchObject({ line: 2, column: 4, source: 'FROM alpine:3.20      AS base' })
  })

  it('warns about instructions before the first FROM and a bad escape directive', () => {
    const result = scanDockerfile('Dockerfile', '# escape=x\nRUN true\nFROM alpine\n')
    expect(result.warnings).toEqual([
      { file: 'Dockerfile', line: 1, message: 'invalid escape character "x": use \\ or `' },
      {
        file: 'Dockerfile',
        line: 2,
        message: 'RUN before the first FROM: only ARG may come before FROM'
      }
    ])
  })

  it('tracks a literal --platform after ARG expansion; an undeclared one is an error on its line, as BuildKit says', () => {
    const found = scanDockerfile(
      'Dockerfile',
      'ARG ARM=linux/arm64/v8\nFROM --platform=$ARM a:1\nFROM --platform=$BUILDPLATFORM b:1\nFROM --platform=$undeclared c:1\nFROM --platform=amd64 d:1\n',
      { buildPlatform: 'linux/arm64' }
    ).references
    expect(found.map(r => [r.line, r.trackedPlatforms?.[0] ?? null, r.error])).toEqual([
      [2, 'linux/arm64', null],
      [3, 'linux/arm64', null],
      [4, null, '--platform=$undeclared: variable undeclared is not set and has no default'],
      [5, 'linux/amd64', null]
    ])
  })

  // containerd's platforms.Parse (parse.go, database.go), which BuildKit's Dockerfile frontend
  // uses for FROM --platform, then platforms.Normalize: an OS alone takes the builder's
  // architecture, an architecture alone OS linux, and the aliases below.
  it.each([
    ['linux', 'linux/arm64'],
    ['windows', 'windows/arm64'],
    ['amd64', 'linux/amd64'],
    ['x86_64', 'linux/amd64'],
    ['x86-64', 'linux/amd64'],
    ['aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['arm', 'linux/arm/v7'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['armhf', 'linux/arm/v7'],
    ['armel', 'linux/arm/v6'],
    ['i386', 'linux/386'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['Linux/AMD64', 'linux/amd64'],
    ['macos/arm64', 'darwin/arm64'],
    ['windows(10.0.17763)/amd64', 'windows/amd64']
  ])('FROM --platform=%s on an arm64 builder tracks %s', (platform, tracked) => {
    const [found] = scanDockerfile('Dockerfile', `FROM --platform=${platform} a:1\n`, {
      buildPlatform: 'linux/arm64'
    }).references
    expect([found.trackedPlatforms?.[0], found.error]).toEqual([tracked, null])
  })

  it.each([
    ['vax', 'it is no operating system or architecture known'],
    ['linux/*', 'wildcards are not supported'],
    ['linux/amd64/v2/x', 'it has more than three parts'],
    ['linux/am+d64', '"am+d64" is not a valid part']
  ])('FROM --platform=%s is an error on its line: %s', (platform, why) => {
    const [found] = scanDockerfile('Dockerfile', `FROM --platform=${platform} a:1\n`).references
    expect(found.error).toBe(
      `--platform=${platform}: "${platform}" is not a platform: ${why}; use os/arch[/variant] (e.g. linux/arm64), an OS or an architecture alone (linux, arm64)`
    )
  })
})

describe('a Dockerfile of one huge instruction', () => {
  it('reports each of its thousands of mounts with the instruction cut short, so the report stays its size', () => {
    const mounts = Array.from({ length: 8000 }, (_, i) => `--mount=from=img${i}:1,target=/m${i}`)
    const text = `FROM alpine:3\nRUN ${mounts.join(' \\\n    ')} true\n`
    const { references } = scanDockerfile('Dockerfile', text)
    expect(references).toHaveLength(8001)
    // 8,000 copies of a 340 KB instruction were 2.7 GB of JSON: scan --json could not print it
    expect(Math.max(...references.map(r => r.source.length))).toBeLessThanOrEqual(301)
    expect(references[1].source).toMatch(/^RUN --mount=from=img0:1,target=\/m0 /)
  })
})
