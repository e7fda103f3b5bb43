import { builds } from './helpers/references.js'
import fc from 'fast-check'
import { bakeSource } from '../src/sources/bake/bake.js'
import { composeSource } from '../src/sources/compose/compose.js'
import { parseDotenv } from '../src/sources/compose/dotenv.js'
import { dockerfileSource } from '../src/sources/dockerfile/dockerfile.js'
import { MAX_NESTING } from '../src/sources/read/expand.js'
import { MAX_WORKFLOW_LEGS, workflowSource } from '../src/sources/workflow/workflow.js'
import { formatReference } from '../src/reference/reference.js'
import {
  context,
  hostileLine,
  ORDINARY_BAKE,
  ORDINARY_COMPOSE,
  ORDINARY_DOCKERFILE,
  pace,
  SIZE,
  within
} from './helpers/hostile.js'

// Anyone who opens a pull request writes the files the gate scans. Whatever they write, the
// scan answers with references or errors on lines, never a crash, and in time proportional
// to the file: measured against scanning an ordinary file of the same size, not a clock.
// YAML values: scan-hostile-yaml.test.ts.

describe('scanning hostile files', () => {
  const dockerfilePace = pace(dockerfileSource, 'Dockerfile', ORDINARY_DOCKERFILE)
  const composePace = pace(composeSource, 'compose.yaml', ORDINARY_COMPOSE)

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
        numRuns: 30,
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
        numRuns: 30,
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
        numRuns: 30,
        examples: [
          [`${'${'.repeat(5000)}`, true],
          [`x = ${'['.repeat(5000)}`, false],
          [`x = "${' '.repeat(160_000)}`, false]
        ]
      }
    )
  })

  // GitHub refuses a matrix of more than 256 jobs: counted before it is expanded, never formed
  it('a workflow matrix of 8 lists of 10 values is an error on its line, at once', () => {
    const lists = Array.from({ length: 8 }, (_, i) => `        v${i}: [0,1,2,3,4,5,6,7,8,9]`).join(
      '\n'
    )
    const text = `on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n${lists}\n    container: alpine:\${{ matrix.v0 }}\n`
    const scanned = workflowSource.scan('.github/workflows/ci.yml', text, context())
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
    const scanned = bakeSource.scan('docker-bake.hcl', text, context())
    expect(scanned.errors.map(e => e.message)).toEqual([
      'target "a": its matrix has 100000000 combinations, more than 256; not expanded'
    ])
  })

  // measured before: 5,397 jobs × 256 legs overflowed the stack (exit 3, every finding lost);
  // 2,000 jobs sharing one matrix through an alias took 20 s of CPU
  it(`a workflow's jobs × matrices past ${MAX_WORKFLOW_LEGS} jobs in all: an error on the job that passes it, the jobs before read`, () => {
    const matrix = `[${Array.from({ length: 256 }, (_, i) => i).join(', ')}]`
    const jobs = Array.from(
      { length: 2000 },
      (_, i) =>
        `  j${i}:\n    runs-on: x\n    strategy: ${i === 0 ? `&s {matrix: {v: ${matrix}}}` : '*s'}\n    container: app:\${{ matrix.v }}`
    )
    const text = `on: push\njobs:\n${jobs.join('\n')}\n`
    const scanned = workflowSource.scan('.github/workflows/ci.yml', text, context())
    expect(scanned.errors).toEqual([
      {
        file: '.github/workflows/ci.yml',
        // j16's first line
        line: 3 + 16 * 4 + 1,
        message: `job "j16": the workflow's jobs and matrices make more than ${MAX_WORKFLOW_LEGS} jobs; this job and the ones after it are not read`
      }
    ])
    expect(scanned.references).toHaveLength(MAX_WORKFLOW_LEGS)
  })

  it('a .env whose values each double the last stops at its budget, an error on that line; the file is still read', () => {
    // 27 lines, 419 bytes: A27 would be 2^27 characters
    const dotenv = Array.from({ length: 27 }, (_, i) => `A${i + 1}=\${A${i}}\${A${i}}`)
    dotenv.unshift('A0=x')
    const compose = 'services:\n  web:\n    image: app:${A3}\n  db:\n    image: postgres:16\n'
    const scanned = composeSource.scan('compose.yaml', compose, context(dotenv.join('\n')))
    // 64 KiB is 2^16: the line that would make A17 is refused, and each after it
    expect(scanned.errors[0]).toEqual({
      file: '.env',
      line: 18,
      message: 'A17: "${A16}${A16}" expands to more than 64 KiB; not expanded'
    })
    expect(scanned.errors.length).toBeLessThanOrEqual(dotenv.length)
    expect(scanned.references.map(r => r.image && formatReference(r.image))).toEqual([
      'docker.io/library/app:xxxxxxxx',
      'docker.io/library/postgres:16'
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
