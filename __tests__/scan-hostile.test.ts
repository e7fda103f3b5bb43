import { builds } from './helpers/references.js'
import fc from 'fast-check'
import { bakeSource } from '../src/sources/bake.js'
import { composeSource, parseDotenv } from '../src/sources/compose.js'
import { dockerfileSource } from '../src/sources/dockerfile.js'
import { MAX_NESTING } from '../src/sources/expand.js'
import { workflowSource } from '../src/sources/workflow.js'
import { scanHelmValues } from '../src/sources/helm-values.js'
import { kubernetesSource } from '../src/sources/kubernetes.js'
import { kustomizeSource } from '../src/sources/kustomize.js'
import { MAX_FLOW_DEPTH, MAX_FLOW_PER_LINE } from '../src/sources/yaml.js'
import type { ScanContext, Source, SourceScan } from '../src/sources/source.js'

// Anyone who opens a pull request writes the files the gate scans. Whatever they write, the
// scan answers with references or errors on lines, never a crash, and in time proportional
// to the file: measured against scanning an ordinary file of the same size, not a clock.

const SIZE = 192 * 1024
const context = (dotenv: string | null = null): ScanContext<never> => ({
  buildArgs: {},
  targetPlatforms: ['linux/amd64'],
  buildPlatform: 'linux/amd64',
  variables: { A: 'a' },
  secrets: [],
  passed: null,
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

const ORDINARY_MANIFESTS = (() => {
  let text = ''
  for (let i = 0; text.length < SIZE; i++)
    text += `---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app${i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app${i}:1.${i}\n`
  return text
})()

const ORDINARY_WORKFLOW = (() => {
  let text = 'on: push\njobs:\n'
  for (let i = 0; text.length < SIZE; i++)
    text += `  j${i}:\n    runs-on: ubuntu-latest\n    container: node:\${{ matrix.v }}\n    strategy:\n      matrix:\n        v: [20, 22]\n    steps:\n      - uses: docker://alpine:3.20\n`
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
  '@',
  '[',
  ']',
  '{',
  '}',
  ': ',
  '- ',
  '${{ '
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
  const within = (elapsed: number, bytes: number, perByte: number, ratio = RATIO) =>
    expect(elapsed).toBeLessThan(Math.max(ratio * perByte * bytes, 50))
  // the yaml library builds an error object for every stray line (about 20 µs each): linear,
  // but slower per byte than an ordinary file; quadratic input would still be thousands of times
  const YAML_ERRORS_RATIO = 150

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
        expect(builds(scanned).length + scanned.errors.length).toBeGreaterThan(0)
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

  const MiB = 1024 * 1024
  // unquoted YAML values reach the yaml library as they are: its costs must stay linear too
  const yamlValue = fc.oneof(
    hostileLine,
    fc
      .tuple(
        fc.constantFrom('[', ']', '{', '}', ']]', '}{', ': [', '"'),
        fc.integer({ min: 1, max: MiB })
      )
      .map(([p, n]) => p.repeat(Math.ceil(n / p.length)).slice(0, MiB))
  )

  it('a Compose file with an unquoted hostile value, up to 1 MiB: a reference or an error, in linear time', () => {
    fc.assert(
      fc.property(yamlValue, value => {
        const text = `services:\n  web:\n    image: ${value}\n`
        const started = performance.now()
        const scanned = composeSource.scan('compose.yaml', text, context())
        within(performance.now() - started, text.length, composePace, YAML_ERRORS_RATIO)
        expect(scanned.references.length + scanned.errors.length).toBeGreaterThanOrEqual(0)
      }),
      {
        numRuns: 30,
        // no shrinking: each run of a 1 MiB value costs a scan, and the first failure says enough
        endOnFailure: true,
        examples: [
          ['}'.repeat(120_000)],
          ['['.repeat(20_000)],
          [']'.repeat(MiB)],
          ['"'.repeat(MiB)]
        ]
      }
    )
  })

  it('a workflow with a hostile value, quoted or not, up to 1 MiB: references, notices or an error, in linear time', () => {
    const workflowPace = pace(workflowSource, '.github/workflows/ci.yml', ORDINARY_WORKFLOW)
    fc.assert(
      fc.property(yamlValue, fc.boolean(), (value, quoted) => {
        const shown = quoted ? JSON.stringify(value) : value
        const text = `on: push\njobs:\n  a:\n    runs-on: x\n    container: ${shown}\n    services:\n      db: ${shown}\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          build-contexts: ${shown}\n`
        const started = performance.now()
        workflowSource.scan('.github/workflows/ci.yml', text, context())
        within(performance.now() - started, text.length, workflowPace, YAML_ERRORS_RATIO)
      }),
      {
        numRuns: 40,
        examples: [
          ['}'.repeat(120_000), false],
          ['${{ '.repeat(200_000), true],
          [': '.repeat(100_000), false],
          ['&a '.repeat(100_000), false]
        ]
      }
    )
  })

  it('a manifest stream, a kustomization and Helm values with a hostile value, quoted or not, up to 1 MiB: in linear time', () => {
    const manifestPace = pace(kubernetesSource, 'k8s/all.yaml', ORDINARY_MANIFESTS)
    fc.assert(
      fc.property(yamlValue, fc.boolean(), (value, quoted) => {
        const shown = quoted ? JSON.stringify(value) : value
        const scans: [string, () => SourceScan][] = [
          [
            `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    spec:\n      containers:\n        - image: ${shown}\n---\napiVersion: v1\nkind: Pod\nspec:\n  initContainers: [{image: ${shown}}]\n`,
            () => kubernetesSource.scan('k8s/all.yaml', scans[0][0], context())
          ],
          [
            `resources:\n  - ${shown}\nimages:\n  - name: ${shown}\n    newTag: ${shown}\n`,
            () => kustomizeSource.scan('kustomization.yaml', scans[1][0], context())
          ],
          [
            `image:\n  repository: ${shown}\n  tag: ${shown}\n`,
            () => scanHelmValues('chart/values.yaml', scans[2][0], '1.0.0')
          ]
        ]
        for (const [text, scan] of scans) {
          const started = performance.now()
          scan()
          within(performance.now() - started, text.length, manifestPace, YAML_ERRORS_RATIO)
        }
      }),
      {
        numRuns: 30,
        endOnFailure: true,
        examples: [
          ['}'.repeat(120_000), false],
          ['{{ '.repeat(200_000), true],
          [': '.repeat(100_000), false],
          ['&a '.repeat(100_000), false],
          ['['.repeat(20_000), false]
        ]
      }
    )
  })

  it(`refuses YAML with more than ${MAX_FLOW_PER_LINE} brackets on a line or nested ${MAX_FLOW_DEPTH} deep, on its line, before the yaml library sees it`, () => {
    for (const [text, line, why] of [
      [
        `services:\n  a:\n    image: ${'}'.repeat(120_000)}\n`,
        3,
        `more than ${MAX_FLOW_PER_LINE} YAML indicators on one line`
      ],
      [
        `services:\n  a:\n    image: ${'['.repeat(20_000)}\n`,
        3,
        `brackets nested more than ${MAX_FLOW_DEPTH} deep`
      ]
    ] as const) {
      const started = performance.now()
      expect(composeSource.scan('compose.yaml', text, context()).errors).toEqual([
        { file: 'compose.yaml', line, message: `not scanned: ${why}` }
      ])
      within(performance.now() - started, text.length, composePace)
    }
  })

  // GitHub refuses a matrix of more than 256 jobs: counted before it is expanded, never formed
  it('a workflow matrix of 8 lists of 10 values is an error on its line, at once', () => {
    const lists = Array.from({ length: 8 }, (_, i) => `        v${i}: [0,1,2,3,4,5,6,7,8,9]`).join(
      '\n'
    )
    const text = `on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n${lists}\n    container: alpine:\${{ matrix.v0 }}\n`
    const started = performance.now()
    const scanned = workflowSource.scan('.github/workflows/ci.yml', text, context())
    expect(performance.now() - started).toBeLessThan(1000)
    expect(scanned.errors).toEqual([
      {
        file: '.github/workflows/ci.yml',
        line: 7,
        message:
          'job "a": its matrix has 100000000 combinations, more than the 256 GitHub runs; not expanded'
      }
    ])
    expect(scanned.references).toEqual([])
  })

  it('a Bake matrix past 256 combinations is an error on its line, at once', () => {
    const lists = Array.from({ length: 8 }, (_, i) => `    v${i} = [0,1,2,3,4,5,6,7,8,9]`).join(
      '\n'
    )
    const text = `target "a" {\n  name = "a-\${v0}"\n  matrix = {\n${lists}\n  }\n}\n`
    const started = performance.now()
    const scanned = bakeSource.scan('docker-bake.hcl', text, context())
    expect(performance.now() - started).toBeLessThan(1000)
    expect(scanned.errors.map(e => e.message)).toEqual([
      'target "a": its matrix has 100000000 combinations, more than 256; not expanded'
    ])
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
