import fc from 'fast-check'
import { decideRecording, type RunFacts } from '../src/action/recording.js'
import {
  baselineKeyPrefix,
  legacyKeyPrefix,
  savedKey,
  workflowFile
} from '../src/baseline/cache-key.js'
import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  serializeBaseline,
  type Baseline
} from '../src/baseline/document.js'
import { mergeReading, type Reading } from '../src/baseline/merge.js'

const identity = {
  workflow: '.github/workflows/ci.yml',
  job: 'docker',
  files: ['Dockerfile'],
  buildArgs: {},
  platforms: [],
  variableNames: []
}

describe('baseline cache keys', () => {
  it('one prefix for the repository whatever the step; a cache-key names another, and no prefix starts another', () => {
    const text = fc.string({ maxLength: 12 })
    fc.assert(
      fc.property(text, text, (a, b) => {
        fc.pre(a !== b)
        const one = baselineKeyPrefix(a)
        const other = baselineKeyPrefix(b)
        expect(one).toMatch(/^base-image-drift-v2-[0-9a-f]{20}-$/)
        expect(one).not.toBe(other)
        expect(other.startsWith(one)).toBe(false)
      })
    )
    expect(baselineKeyPrefix('')).toBe(baselineKeyPrefix(''))
  })

  it("an earlier version's prefix is still derived from the step, or is the cache-key as given", () => {
    const before = legacyKeyPrefix('', identity)
    expect(before).toMatch(/^base-image-drift-[0-9a-f]{20}-$/)
    expect(legacyKeyPrefix('', { ...identity, job: 'docker-edge' })).not.toBe(before)
    expect(legacyKeyPrefix('', { ...identity, platforms: ['linux/arm64', 'linux/amd64'] })).toBe(
      legacyKeyPrefix('', { ...identity, platforms: ['linux/amd64', 'linux/arm64'] })
    )
    expect(legacyKeyPrefix('shop-', identity)).toBe('shop-')
  })

  it('names run, attempt, job, step and a nonce in the saved key, and reads the workflow file from its ref', () => {
    expect(
      savedKey(
        'base-image-drift-v2-0123-',
        { run: '77', attempt: '2', job: 'build', step: '__acme/bid' },
        'ab12'
      )
    ).toBe('base-image-drift-v2-0123-77-2-build-__acme_bid-ab12')
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

describe("one step's reading merged into the repository's baseline", () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`
  const entry = (c: string, ...seenAt: string[]) => ({ digest: digest(c), recordedAt: 't', seenAt })
  const doc = (images: Baseline['images']): Baseline => ({
    schema: BASELINE_SCHEMA,
    version: BASELINE_SCHEMA_VERSION,
    images
  })
  const read = (images: Reading['images'], scanned: string[], complete = true): Reading => ({
    images,
    scanned,
    complete
  })

  it("keeps what other steps read, drops what left this step's files, and joins the files that name an image", () => {
    const base = doc({
      'docker.io/library/api:1': entry('a', 'services/api/Dockerfile'),
      'docker.io/library/gone:1': entry('b', 'Dockerfile'),
      'docker.io/library/both:1': entry('c', 'Dockerfile', 'compose.yaml'),
      'docker.io/library/old:1': { digest: digest('d'), recordedAt: 't' }
    })
    const merged = mergeReading(
      base,
      read(
        {
          'docker.io/library/web:1': {
            entry: entry('e', 'Dockerfile'),
            accepted: false,
            comparedWith: null
          }
        },
        ['Dockerfile']
      )
    )
    expect(merged.images).toEqual({
      // another matrix leg's service
      'docker.io/library/api:1': entry('a', 'services/api/Dockerfile'),
      // still in compose.yaml, which this step did not scan
      'docker.io/library/both:1': entry('c', 'compose.yaml'),
      // an older version's entry says no file: kept
      'docker.io/library/old:1': { digest: digest('d'), recordedAt: 't' },
      'docker.io/library/web:1': entry('e', 'Dockerfile')
    })
  })

  it('never undoes what another run recorded meanwhile: only an acceptance replaces it', () => {
    const newer = doc({
      'docker.io/library/a:1': entry('b', 'Dockerfile'),
      'docker.io/library/c:1': entry('c', 'Dockerfile'),
      'docker.io/library/n:1': entry('f', 'Dockerfile')
    })
    const merged = mergeReading(
      newer,
      read(
        {
          // this step compared with a, another run accepted b meanwhile
          'docker.io/library/a:1': {
            entry: entry('a', 'Dockerfile'),
            accepted: false,
            comparedWith: digest('a')
          },
          'docker.io/library/c:1': {
            entry: entry('d', 'Dockerfile'),
            accepted: true,
            comparedWith: digest('c')
          },
          // new to this step, recorded meanwhile by another
          'docker.io/library/n:1': {
            entry: entry('e', 'Dockerfile'),
            accepted: false,
            comparedWith: null
          }
        },
        ['Dockerfile']
      )
    )
    expect(merged.images).toEqual({
      'docker.io/library/a:1': entry('b', 'Dockerfile'),
      'docker.io/library/c:1': entry('d', 'Dockerfile'),
      'docker.io/library/n:1': entry('f', 'Dockerfile')
    })
  })

  it('drops nothing while a file could not be read, and reads the line numbers earlier versions wrote', () => {
    const base = doc({ 'docker.io/library/gone:1': entry('b', 'Dockerfile:3') })
    expect(mergeReading(base, read({}, ['Dockerfile'], false)).images).toEqual(base.images)
    expect(mergeReading(base, read({}, ['Dockerfile'])).images).toEqual({})
  })

  it('merging the same reading twice writes the same text: concurrent saves converge', () => {
    const base = doc({ 'docker.io/library/api:1': entry('a', 'api/Dockerfile') })
    const reading = read(
      {
        'docker.io/library/web:1': {
          entry: entry('e', 'Dockerfile'),
          accepted: false,
          comparedWith: null
        }
      },
      ['Dockerfile']
    )
    const once = mergeReading(base, reading)
    expect(serializeBaseline(mergeReading(once, reading))).toBe(serializeBaseline(once))
  })
})
