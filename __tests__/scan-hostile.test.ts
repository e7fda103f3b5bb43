import fc from 'fast-check'
import { bakeSource } from '../src/sources/bake.js'
import { composeSource, parseDotenv } from '../src/sources/compose.js'
import { dockerfileSource } from '../src/sources/dockerfile.js'
import { MAX_NESTING } from '../src/sources/expand.js'
import type { ScanContext, Source } from '../src/sources/source.js'

// Anyone who opens a pull request writes the files the gate scans. Whatever they write, the
// scan answers with references or errors on lines, never a crash, and in time proportional
// to the file: measured against scanning an ordinary file of the same size, not a clock.

const SIZE = 192 * 1024
const context = (dotenv: string | null = null): ScanContext => ({
  buildArgs: {},
  targetPlatforms: ['linux/amd64'],
  buildPlatform: 'linux/amd64',
  variables: { A: 'a' },
  secrets: [],
  readBeside: name => (name === '.env' ? dotenv : null)
})

const ORDINARY_DOCKERFILE = (() => {
  const stage = [
    '# syntax=docker/dockerfile:1',
    'ARG PY=3.12',
    'FROM python:${PY}-slim AS base',
    'RUN apt-get update && apt-get install -y --no-install-recommends libssl3 \\',
    '    && rm -rf /var/lib/apt/lists/*',
    'COPY --from=ghcr.io/astral-sh/uv:0.4 /uv /bin/uv',
    'RUN --mount=type=cache,target=/root/.cache uv pip install -r requirements.txt'
  ].join('\n')
  return `${stage}\n`.repeat(Math.ceil(SIZE / stage.length)).slice(0, SIZE)
})()
const ORDINARY_COMPOSE = (() => {
  let text = 'services:\n'
  for (let i = 0; text.length < SIZE; i++)
    text += `  s${i}:\n    image: \${REGISTRY:-docker.io}/team/app${i}:\${TAG:-1}\n`
  return text
})()

const ORDINARY_BAKE = (() => {
  let text = 'variable "TAG" {\n  default = "1"\n}\n'
  for (let i = 0; text.length < SIZE; i++)
    text += `target "t${i}" {\n  context = "svc/${i}"\n  args = { V = "\${TAG}" }\n}\n`
  return text
})()

/** Milliseconds per byte of the fastest of a few runs: the machine's pace for ordinary files. */
function pace(source: Source, file: string, text: string): number {
  let best = Infinity
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    source.scan(file, text, context())
    best = Math.min(best, performance.now() - started)
  }
  return best / text.length
}

// the ingredients of hostile lines: long runs of what parsers backtrack on
const piece = fc.constantFrom(
  ' ',
  '\t',
  '$',
  '{',
  '}',
  '\\',
  '"',
  "'",
  '`',
  '#',
  '=',
  ':-',
  '${A:-',
  '<<EOF',
  '\\\n',
  'a',
  '@'
)
const run = fc.tuple(piece, fc.integer({ min: 1, max: 40_000 })).map(([p, n]) => p.repeat(n))
const hostileLine = fc
  .tuple(
    fc.constantFrom(
      '',
      '# syntax=',
      '# escape=',
      'FROM ',
      'ARG A=',
      'COPY --from=',
      'RUN --mount=from='
    ),
    fc.array(run, { minLength: 1, maxLength: 6 })
  )
  .map(([start, runs]) => (start + runs.join('')).slice(0, SIZE))

describe('scanning hostile files', () => {
  const dockerfilePace = pace(dockerfileSource, 'Dockerfile', ORDINARY_DOCKERFILE)
  const composePace = pace(composeSource, 'compose.yaml', ORDINARY_COMPOSE)
  // generous: a linear scan of odd input may be several times slower; a quadratic one is thousands
  const RATIO = 40
  const within = (elapsed: number, bytes: number, perByte: number) =>
    expect(elapsed).toBeLessThan(Math.max(RATIO * perByte * bytes, 50))

  it('a Dockerfile of long runs of spaces, $, {, \\ and quotes: references or line errors, in linear time', () => {
    fc.assert(
      fc.property(fc.array(hostileLine, { minLength: 1, maxLength: 3 }), lines => {
        const text = lines.join('\n')
        const started = performance.now()
        const scanned = dockerfileSource.scan('Dockerfile', text, context())
        within(performance.now() - started, text.length, dockerfilePace)
        for (const reference of scanned.references)
          expect(reference.image !== undefined || reference.error !== null).toBe(true)
      }),
      {
        numRuns: 60,
        examples: [
          [[`# syntax=a${' '.repeat(160_000)}b`]],
          [[`#${' '.repeat(160_000)}`]],
          [[`FROM ${'${A:-'.repeat(5000)}x${'}'.repeat(5000)}`]]
        ]
      }
    )
  })

  it('a Compose file and its .env of the same: references or line errors, in linear time', () => {
    fc.assert(
      fc.property(hostileLine, hostileLine, (value, dotenvValue) => {
        const text = `services:\n  web:\n    image: ${JSON.stringify(value)}\n`
        const dotenv = `A=${dotenvValue}\n`
        const started = performance.now()
        const scanned = composeSource.scan('compose.yaml', text, context(dotenv))
        within(performance.now() - started, text.length + dotenv.length, composePace)
        expect(scanned.references.length + scanned.errors.length).toBeGreaterThan(0)
      }),
      {
        numRuns: 60,
        examples: [
          [`x${' '.repeat(160_000)}y`, `x${' '.repeat(160_000)}y`],
          [`${'${A:-'.repeat(5000)}x${'}'.repeat(5000)}`, 'a']
        ]
      }
    )
  })

  it('a Bake file of the same: builds, notices or an error on a line, in linear time', () => {
    const bakePace = pace(bakeSource, 'docker-bake.hcl', ORDINARY_BAKE)
    fc.assert(
      fc.property(hostileLine, fc.boolean(), (value, quoted) => {
        const text = quoted
          ? `target "a" {\n  args = { A = ${JSON.stringify(value)} }\n}\n`
          : `target "a" {\n  ${value}\n}\n`
        const started = performance.now()
        const scanned = bakeSource.scan('docker-bake.hcl', text, context())
        within(performance.now() - started, text.length, bakePace)
        expect(scanned.builds.length + scanned.errors.length).toBeGreaterThan(0)
      }),
      {
        numRuns: 60,
        examples: [
          [`${'${'.repeat(5000)}`, true],
          [`x = ${'['.repeat(5000)}`, false],
          [`x = "${' '.repeat(160_000)}`, false]
        ]
      }
    )
  })

  it('a .env value of spaces without a comment is read in one pass', () => {
    const value = `x${' '.repeat(SIZE)}y`
    const started = performance.now()
    expect(parseDotenv(`A=${value}`).A).toBe(value)
    within(performance.now() - started, SIZE, composePace)
  })

  it(`refuses variables nested more than ${MAX_NESTING} deep, on that line, and reads the others`, () => {
    const deep = `${'${A:-'.repeat(5000)}x${'}'.repeat(5000)}`
    const scanned = dockerfileSource.scan(
      'Dockerfile',
      `FROM alpine:3.20 AS ok\nFROM ${deep}\n`,
      context()
    )
    expect(scanned.references.map(r => [r.line, r.image ? 'image' : r.error])).toEqual([
      [1, 'image'],
      [2, `variables nested more than ${MAX_NESTING} deep in "${deep.slice(0, 80)}…"; not expanded`]
    ])
  })
})
