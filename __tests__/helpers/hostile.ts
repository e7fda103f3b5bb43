import fc from 'fast-check'
import { expect } from '@jest/globals'
import type { ScanContext, Source } from '../../src/sources/read/source.js'
import { scanContext } from './scan-context.js'

/** What the hostile-input tests share: ordinary files to pace against, hostile lines, the bounds. */

// Anyone who opens a pull request writes the files the gate scans. Whatever they write, the
// scan answers with references or errors on lines, never a crash, and in time proportional
// to the file: measured against scanning an ordinary file of the same size, not a clock.

export const SIZE = 192 * 1024
export const context = (dotenv: string | null = null): ScanContext<never> =>
  scanContext(dotenv === null ? {} : { '.env': dotenv }, { variables: { A: 'a' } })

export const ORDINARY_DOCKERFILE = (() => {
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
export const ORDINARY_COMPOSE = (() => {
  let text = 'services:\n'
  for (let i = 0; text.length < SIZE; i++)
    text += `  s${i}:\n    image: \${REGISTRY:-docker.io}/team/app${i}:\${TAG:-1}\n`
  return text
})()

export const ORDINARY_BAKE = (() => {
  let text = 'variable "TAG" {\n  default = "1"\n}\n'
  for (let i = 0; text.length < SIZE; i++)
    text += `target "t${i}" {\n  context = "svc/${i}"\n  args = { V = "\${TAG}" }\n}\n`
  return text
})()

export const ORDINARY_MANIFESTS = (() => {
  let text = ''
  for (let i = 0; text.length < SIZE; i++)
    text += `---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app${i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app${i}:1.${i}\n`
  return text
})()

export const ORDINARY_WORKFLOW = (() => {
  let text = 'on: push\njobs:\n'
  for (let i = 0; text.length < SIZE; i++)
    text += `  j${i}:\n    runs-on: ubuntu-latest\n    container: node:\${{ matrix.v }}\n    strategy:\n      matrix:\n        v: [20, 22]\n    steps:\n      - uses: docker://alpine:3.20\n`
  return text
})()

/** Milliseconds per byte of the fastest of a few runs: the machine's pace for ordinary files. */
export function pace(source: Source, file: string, text: string): number {
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    source.scan(file, text, context())
    best = Math.min(best, performance.now() - started)
  }
  return best / text.length
}

// the ingredients of hostile lines: long runs of what parsers backtrack on
export const piece = fc.constantFrom(
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
  '@',
  '[',
  ']',
  '{',
  '}',
  ': ',
  '- ',
  '${{ '
)
export const run = fc.tuple(piece, fc.integer({ min: 1, max: 40_000 })).map(([p, n]) => p.repeat(n))
export const hostileLine = fc
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

// generous: a linear scan of odd input may be several times slower; a quadratic one is thousands
export const RATIO = 40
export const within = (elapsed: number, bytes: number, perByte: number, ratio = RATIO) =>
  expect(elapsed).toBeLessThan(Math.max(ratio * perByte * bytes, 50))
// the yaml library builds an error object for every stray line (about 20 µs each): linear,
// but slower per byte than an ordinary file; quadratic input would still be thousands of times
export const YAML_ERRORS_RATIO = 150

export const MiB = 1024 * 1024
// unquoted YAML values reach the yaml library as they are: its costs must stay linear too
export const yamlValue = fc.oneof(
  hostileLine,
  fc
    .tuple(
      fc.constantFrom('[', ']', '{', '}', ']]', '}{', ': [', '"'),
      fc.integer({ min: 1, max: MiB })
    )
    .map(([p, n]) => p.repeat(Math.ceil(n / p.length)).slice(0, MiB))
)
