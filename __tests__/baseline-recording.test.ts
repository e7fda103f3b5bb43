import fc from 'fast-check'
import { missingBaseline, workflowFacts } from '../src/action/missing-baseline.js'
import { decideRecording, type RunFacts } from '../src/action/recording.js'
import {
  baselineKeyPrefix,
  legacyKeyPrefix,
  generationKey,
  generationOf,
  refChain,
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

  it("keys a ref's baselines by generation, and no ref's keys start another's", () => {
    const main = refChain('base-image-drift-v2-0123-', 'refs/heads/main')
    const pull = refChain('base-image-drift-v2-0123-', 'refs/pull/7/merge')
    expect(main).toMatch(/^base-image-drift-v2-0123-[0-9a-f]{12}-$/)
    expect(pull).toHaveLength(main.length)
    expect(pull).not.toBe(main)
    expect(generationKey(main, 7)).toBe(`${main}7`)
    expect(generationOf(main, generationKey(main, 7))).toBe(7)
    expect(generationOf(main, generationKey(pull, 7))).toBe(0)
    // an entry an earlier version saved under run, attempt, job and step
    expect(generationOf(main, `${main}77-2-build-__acme_bid-ab12`)).toBe(0)
    expect(generationOf(main, `${main}007`)).toBe(0)
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
    recordingBranches: [],
    baseBranch: '',
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

describe('recording branches', () => {
  const facts = (eventName: string, ref: string, baseBranch = ''): RunFacts => ({
    eventName,
    ref,
    defaultBranch: 'main',
    recordingBranches: ['release/*'],
    baseBranch,
    workflow: '.github/workflows/ci.yml'
  })

  it('a maintenance branch named by the input records, and accepts on itself', () => {
    const push = decideRecording('default-branch', facts('push', 'refs/heads/release/1.x'))
    expect(push.records).toBe(true)
    expect(push.statement).toContain('on main and release/*')
    expect(push.acceptWhere).toContain('on release/1.x by hand')
    // GitHub's `*` does not cross a slash; picomatch's neither
    expect(
      decideRecording('default-branch', facts('push', 'refs/heads/release/1.x/hotfix')).records
    ).toBe(false)
  })

  it('a pull request into a recording branch compares with it and accepts there', () => {
    const pr = decideRecording(
      'default-branch',
      facts('pull_request', 'refs/pull/4/merge', 'release/1.x')
    )
    expect(pr.records).toBe(false)
    expect(pr.statement).toMatch(
      /^this pull_request run of refs\/pull\/4\/merge compares with release\/1\.x's newest baseline/
    )
    expect(pr.acceptWhere).toContain('on release/1.x by hand')
    const intoFeature = decideRecording(
      'default-branch',
      facts('pull_request', 'refs/pull/5/merge', 'feature/x')
    )
    expect(intoFeature.statement).toContain("compares with main's newest baseline")
    expect(intoFeature.acceptWhere).toContain('on main by hand')
  })
})

describe('which workflows record a baseline', () => {
  const branches = { defaultBranch: 'main', recordingBranches: ['release/*'] }
  const ours = (uses: string) => uses.includes('base-image-drift')
  const step =
    'jobs:\n  drift:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/base-image-drift@v1\n'
  const facts = (on: string, body = step) =>
    workflowFacts('.github/workflows/x.yml', `on: ${on}\n${body}`, branches, ours)

  it.each([
    ['push', true],
    ['[push, pull_request]', true],
    ['pull_request', false],
    ['[pull_request]', false],
    ['\n  schedule:\n    - cron: "0 3 * * *"', true],
    ['\n  push:\n    branches: [main]', true],
    ['\n  push:\n    branches: ["releases/**", "release/*"]', true],
    ['\n  push:\n    branches: ["ma*"]', true],
    ['\n  push:\n    branches: [develop]', false],
    // only tags: no branch push runs it (GitHub's rule for a push with tags and no branches)
    ['\n  push:\n    tags: ["v*"]', false],
    ['\n  push:\n    branches-ignore: [main]', false],
    ['\n  push:\n    branches-ignore: [develop]', true],
    ['\n  push:\n    paths: ["Dockerfile"]', true],
    ['\n  workflow_dispatch:\n  pull_request:', false]
  ])('on: %s records: %s', (on, records) => {
    expect(facts(on)?.recordingTrigger).toBe(records)
  })

  it('finds the step in the workflow, or the local reusable workflow it calls', () => {
    expect(facts('push')).toEqual({ recordingTrigger: true, runsStep: true, calls: [] })
    expect(facts('push', 'jobs:\n  call:\n    uses: ./.github/workflows/drift.yml@main\n')).toEqual(
      { recordingTrigger: true, runsStep: false, calls: ['.github/workflows/drift.yml'] }
    )
    expect(facts('push', 'jobs:\n  lint:\n    steps:\n      - run: make lint\n')?.runsStep).toBe(
      false
    )
    // not a workflow that can be read: no facts rather than a guess
    expect(workflowFacts('w.yml', 'on: [push\n', branches, ours)).toBeNull()
  })
})

describe('why no baseline was found', () => {
  const base = {
    records: false,
    branches: { defaultBranch: 'main', recordingBranches: [] },
    branch: 'main',
    workflow: '.github/workflows/pr.yml',
    recorders: ['.github/workflows/main.yml'],
    earlier: undefined,
    images: 3
  }
  const earlier = { id: 812, date: '2026-11-20', ranStep: true }

  it.each([
    [
      { recorders: [] },
      'never-recorded',
      /^no baseline: no workflow records one, since none in \.github\/workflows runs this step on pushes to main or on a schedule\. Add `push: branches: \[main\]` to the `on:` of \.github\/workflows\/pr\.yml .*; 3 images not compared$/
    ],
    [
      { earlier },
      'evicted',
      /^no baseline: \.github\/workflows\/main\.yml recorded one in run 812 \(2026-11-20\), evicted since: unused for 7 days, or pushed out past the repository's 10 GB cache limit; .*3 images not compared$/
    ],
    [
      { earlier: null },
      'not-yet',
      /^no baseline yet: \.github\/workflows\/main\.yml records one, but has not yet succeeded on main; .*3 images not compared$/
    ],
    [{}, 'not-yet-or-evicted', /it has not succeeded there yet, or the baseline was evicted/],
    [
      { records: true, earlier: null },
      'first-run',
      /^no baseline yet: the first run of this workflow on this branch; 3 images recorded without comparison/
    ],
    [
      { records: true, earlier },
      'evicted',
      /^no baseline found: this workflow recorded one in run 812/
    ],
    [
      { unrestorable: 'the entry is zstd' },
      'unrestorable',
      /^no baseline restored: the entry is zstd; 3 images neither compared nor recorded$/
    ]
  ])('%j: %s', (change, reason, message) => {
    const said = missingBaseline({ ...base, ...change })
    expect(said.reason).toBe(reason)
    expect(said.message).toMatch(message)
  })
})
