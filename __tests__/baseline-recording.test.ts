import fc from 'fast-check'
import { decideRecording, type RunFacts } from '../src/action/recording.js'
import { baselineKeyPrefix, savedKey, workflowFile } from '../src/baseline/cache-key.js'
import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  layerOnto,
  type Baseline
} from '../src/baseline/document.js'

const identity = {
  workflow: '.github/workflows/ci.yml',
  job: 'docker',
  files: ['Dockerfile'],
  buildArgs: {},
  platforms: [],
  variableNames: []
}

describe('baseline cache keys', () => {
  it('no prefix starts another: every prefix has the same length and ends at its digest', () => {
    const text = fc.string({ maxLength: 12 })
    fc.assert(
      fc.property(text, text, fc.array(text, { maxLength: 3 }), (workflow, job, files) => {
        const a = baselineKeyPrefix({ ...identity, workflow, job, files })
        const b = baselineKeyPrefix({ ...identity, workflow, job: `${job}-edge`, files })
        expect(a).toMatch(/^base-image-drift-[0-9a-f]{20}-$/)
        expect(a.length).toBe(b.length)
        expect(b.startsWith(a)).toBe(false)
      })
    )
  })

  it('differs by job, files, build args, platforms and variable names; not by their order', () => {
    const base = baselineKeyPrefix(identity)
    for (const change of [
      { job: 'docker-edge' },
      { files: ['services/api/**'] },
      { buildArgs: { PY: '3.12' } },
      { platforms: ['linux/arm64'] },
      { variableNames: ['TAG'] },
      { workflow: '.github/workflows/nightly.yml' }
    ])
      expect(baselineKeyPrefix({ ...identity, ...change })).not.toBe(base)
    expect(baselineKeyPrefix({ ...identity, platforms: ['linux/arm64', 'linux/amd64'] })).toBe(
      baselineKeyPrefix({ ...identity, platforms: ['linux/amd64', 'linux/arm64'] })
    )
  })

  it('names run, attempt and step in the saved key, and reads the workflow file from its ref', () => {
    expect(savedKey('base-image-drift-0123-', '77', '2', '__acme/bid')).toBe(
      'base-image-drift-0123-77-2-__acme_bid'
    )
    expect(workflowFile('acme/shop/.github/workflows/ci.yml@refs/pull/7/merge')).toBe(
      '.github/workflows/ci.yml'
    )
    expect(workflowFile(undefined)).toBeNull()
  })
})

describe('which runs record', () => {
  const facts = (
    eventName: string,
    ref: string,
    defaultBranch: string | null = 'main'
  ): RunFacts => ({
    eventName,
    ref,
    defaultBranch,
    workflow: '.github/workflows/ci.yml'
  })
  it.each([
    ['push', 'refs/heads/main', true],
    ['schedule', 'refs/heads/main', true],
    ['workflow_dispatch', 'refs/heads/main', true],
    ['push', 'refs/heads/release', false],
    ['push', 'refs/tags/v1', false],
    ['pull_request', 'refs/pull/7/merge', false],
    // runs in the default branch's scope, with a pull request's files in reach: never records
    ['pull_request_target', 'refs/heads/main', false],
    ['merge_group', 'refs/heads/gh-readonly-queue/main/pr-7-abc', false],
    ['workflow_run', 'refs/heads/main', false]
  ])('%s of %s records: %s', (event, ref, records) => {
    expect(decideRecording('default-branch', facts(event, ref)).records).toBe(records)
  })

  it('records nothing when the default branch is not known, and follows the input otherwise', () => {
    expect(decideRecording('default-branch', facts('push', 'refs/heads/main', null))).toMatchObject(
      {
        records: false,
        statement: expect.stringContaining('the default branch could not be told')
      }
    )
    expect(decideRecording('always', facts('pull_request', 'refs/pull/7/merge')).records).toBe(true)
    expect(decideRecording('never', facts('push', 'refs/heads/main')).records).toBe(false)
  })
})

describe('layering a run onto a baseline saved while it ran', () => {
  const entry = (digest: string) => ({ digest: `sha256:${digest.repeat(64)}`, recordedAt: 't' })
  const doc = (images: Baseline['images']): Baseline => ({
    schema: BASELINE_SCHEMA,
    version: BASELINE_SCHEMA_VERSION,
    updatedAt: 't',
    images
  })
  it('keeps the newer entries, adds what the run saw first, and replaces what it accepted', () => {
    const newer = doc({ 'docker.io/library/a:1': entry('b'), 'docker.io/library/c:1': entry('c') })
    const next = doc({
      'docker.io/library/a:1': entry('a'),
      'docker.io/library/c:1': entry('d'),
      'docker.io/library/n:1': entry('e')
    })
    const layered = layerOnto(newer, next, {
      added: ['docker.io/library/n:1'],
      accepted: ['docker.io/library/c:1']
    })
    expect(layered.images).toEqual({
      'docker.io/library/a:1': entry('b'),
      'docker.io/library/c:1': entry('d'),
      'docker.io/library/n:1': entry('e')
    })
  })
})
