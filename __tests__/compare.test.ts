import {
  parseBaseline,
  serializeBaseline,
  BASELINE_SCHEMA,
  type Baseline
} from '../src/baseline/document.js'
import { matchAcceptance } from '../src/compare/accept.js'
import { compare } from '../src/compare/compare.js'
import { decide } from '../src/decide/policy.js'
import { SEVERITIES } from '../src/explain/diff.js'
import type { Resolution } from '../src/resolve/resolve.js'
import { found } from './helpers/references.js'
import { sha } from './helpers/scan-context.js'

const NOW = '2026-11-26T12:00:00.000Z'
const options = { platforms: [] as string[], accept: false, now: NOW, run: '7-1', commit: 'abc' }

function baseline(images: Baseline['images']): Baseline {
  return { schema: BASELINE_SCHEMA, version: 1, images }
}
const entry = (digest: string, platforms?: Record<string, string>) => ({
  digest,
  recordedAt: '2026-11-01T00:00:00Z',
  ...(platforms ? { platforms } : {})
})

describe('compare', () => {
  const py = 'docker.io/library/python:3.12-slim'
  const resolutions = (map: Record<string, Resolution>) => new Map(Object.entries(map))

  it('tells unchanged, drifted, new and error apart, and builds the next baseline', () => {
    const refs = [
      found('python:3.12-slim', 1),
      found('alpine:3.20', 2),
      found('node:22', 3),
      found('gone:1', 4)
    ]
    const { findings, next } = compare(
      refs,
      resolutions({
        [py]: { digest: sha('b') },
        'docker.io/library/alpine:3.20': { digest: sha('c') },
        'docker.io/library/node:22': { digest: sha('e') },
        'docker.io/library/gone:1': {
          failure: {
            kind: 'not-found',
            registry: 'docker.io',
            message: 'the tag 1 does not exist'
          }
        }
      }),
      baseline({
        [py]: entry(sha('a')),
        'docker.io/library/alpine:3.20': entry(sha('c')),
        'docker.io/library/gone:1': entry(sha('f')),
        // recorded from the Dockerfile this step scans, and no longer in it
        'docker.io/library/removed:1': { ...entry(sha('9')), seenAt: ['Dockerfile'] },
        // recorded from another workflow's file, which this step does not scan
        'docker.io/library/other:1': { ...entry(sha('8')), seenAt: ['deploy/compose.yaml'] }
      }),
      options
    )
    expect(findings.map(f => f.status)).toEqual(['drifted', 'unchanged', 'new', 'error'])
    // a tag the baseline had and the registry no longer has: said as removed since
    expect(findings[3]).toMatchObject({
      error: {
        kind: 'not-found',
        message: 'the tag 1 does not exist; it existed when the baseline was recorded (2026-11-01)'
      }
    })
    // drift not accepted keeps the known-good digest; an error keeps its entry; a removed line
    // is dropped; what another step reads is kept
    expect(Object.fromEntries(Object.entries(next.images).map(([k, v]) => [k, v.digest]))).toEqual({
      [py]: sha('a'),
      'docker.io/library/alpine:3.20': sha('c'),
      'docker.io/library/node:22': sha('e'),
      'docker.io/library/gone:1': sha('f'),
      'docker.io/library/other:1': sha('8')
    })
    // an unchanged entry keeps when it was recorded: a run that changed nothing writes the same text
    expect(next.images['docker.io/library/alpine:3.20'].recordedAt).toBe('2026-11-01T00:00:00Z')
    expect(next.images['docker.io/library/node:22']).toEqual({
      digest: sha('e'),
      seenAt: ['Dockerfile'],
      recordedAt: NOW,
      run: '7-1',
      commit: 'abc'
    })
  })

  it('records accepted drift', () => {
    const { findings, next } = compare(
      [found('python:3.12-slim')],
      resolutions({ [py]: { digest: sha('b') } }),
      baseline({ [py]: entry(sha('a')) }),
      { ...options, accept: true }
    )
    expect(findings[0].status).toBe('drifted')
    expect(next.images[py].digest).toBe(sha('b'))
  })

  it('calls a change outside the tracked platforms index churn, saying why', () => {
    const before = { 'linux/amd64': sha('1'), 'linux/arm64': sha('2') }
    const run = (after: Record<string, string>, reference = found('python:3.12-slim')) =>
      compare(
        [reference],
        resolutions({ [py]: { digest: sha('b') } }),
        baseline({ [py]: entry(sha('a')) }),
        {
          ...options,
          platforms: ['linux/amd64'],
          platformChanges: new Map([[py, { before, after }]])
        }
      )
    const churn = run({ 'linux/amd64': sha('1'), 'linux/arm64': sha('3') })
    expect(churn.findings[0]).toMatchObject({
      status: 'index-churn',
      reason: 'only other platforms were rebuilt: linux/arm64'
    })
    expect(churn.next.images[py].digest).toBe(sha('b'))
    expect(run(before).findings[0]).toMatchObject({
      status: 'index-churn',
      reason: 'only attestations or index annotations changed'
    })
    const drift = run({ 'linux/amd64': sha('4'), 'linux/arm64': sha('2') })
    expect(drift.findings[0]).toMatchObject({
      status: 'drifted',
      changedPlatforms: ['linux/amd64']
    })
    // a literal FROM --platform=linux/arm64 tracks that platform, whatever the run tracks
    const arm = { ...found('python:3.12-slim'), trackedPlatforms: ['linux/arm64'] }
    expect(
      run({ 'linux/amd64': sha('1'), 'linux/arm64': sha('3') }, arm).findings[0]
    ).toMatchObject({
      status: 'drifted',
      changedPlatforms: ['linux/arm64']
    })
  })

  it('records the tracked platforms of an index it read, and compares the next move with them', () => {
    const tracked = ['linux/amd64']
    const moved = compare(
      [found('python:3.12-slim')],
      resolutions({ [py]: { digest: sha('b') } }),
      baseline({ [py]: entry(sha('a')) }),
      {
        ...options,
        platforms: tracked,
        platformChanges: new Map([
          [
            py,
            {
              before: { 'linux/amd64': sha('1'), 'linux/arm64': sha('2') },
              after: { 'linux/amd64': sha('1'), 'linux/arm64': sha('3') }
            }
          ]
        ])
      }
    )
    expect(moved.findings[0].status).toBe('index-churn')
    // only what is tracked: the lockfile does not change with platforms nobody builds
    expect(moved.next.images[py].platforms).toEqual({ 'linux/amd64': sha('1') })
    // the next move, compared with what was recorded: other platforms are not known
    const next = compare(
      [found('python:3.12-slim')],
      resolutions({ [py]: { digest: sha('c') } }),
      moved.next,
      {
        ...options,
        platforms: tracked,
        platformChanges: new Map([
          [
            py,
            {
              before: moved.next.images[py].platforms!,
              after: { 'linux/amd64': sha('1'), 'linux/arm64': sha('4') },
              beforeTrackedOnly: true
            }
          ]
        ])
      }
    )
    expect(next.findings[0]).toMatchObject({
      status: 'index-churn',
      reason: 'only other platforms, attestations or index annotations changed'
    })
    // an image that is new, or whose index was not read, records no platforms
    expect(
      compare([found('python:3.12-slim')], resolutions({ [py]: { digest: sha('b') } }), null, {
        ...options,
        platforms: tracked
      }).next.images[py].platforms
    ).toBeUndefined()
  })

  it('reports pinned references, stale when the tag moved on', () => {
    const pinned = found(`python:3.12-slim@${sha('a')}`)
    const fresh = compare([pinned], resolutions({ [py]: { digest: sha('a') } }), null, options)
    expect(fresh.findings[0]).toMatchObject({ status: 'pinned', stale: false })
    const stale = compare([pinned], resolutions({ [py]: { digest: sha('b') } }), null, options)
    expect(stale.findings[0]).toMatchObject({ status: 'pinned', stale: true })
    expect(stale.next.images[`${py}@${sha('a')}`].digest).toBe(sha('a'))
  })

  it('fails on drift or errors only as the policy says', () => {
    const { findings } = compare(
      [found('python:3.12-slim'), found('gone:1', 2)],
      resolutions({
        [py]: { digest: sha('b') },
        'docker.io/library/gone:1': {
          failure: { kind: 'server', registry: 'docker.io', message: 'x' }
        }
      }),
      baseline({ [py]: entry(sha('a')) }),
      options
    )
    const verdict = decide(findings, {
      onDrift: 'fail',
      onError: 'warn',
      accept: false,
      failOn: SEVERITIES
    })
    expect(verdict).toMatchObject({
      failures: ['1 image changed under its tag since the last successful build'],
      drifted: 1,
      errors: 1,
      save: false
    })
    // each finding's outcome, decided once: what every report reads
    expect(findings.map(f => verdict.outcomes.get(f))).toEqual(['fails', 'warns'])
    const accepting = decide(findings, {
      onDrift: 'fail',
      onError: 'fail',
      accept: true,
      failOn: SEVERITIES
    })
    expect(findings.map(f => accepting.outcomes.get(f))).toEqual(['accepted', 'fails'])
    expect(
      decide(findings, { onDrift: 'warn', onError: 'warn', accept: false, failOn: SEVERITIES })
        .failures
    ).toEqual([])
    expect(
      decide(findings, { onDrift: 'fail', onError: 'warn', accept: true, failOn: SEVERITIES }).save
    ).toBe(true)
    expect(
      decide(findings, { onDrift: 'warn', onError: 'fail', accept: false, failOn: SEVERITIES })
        .failures
    ).toEqual(['1 image reference could not be scanned or resolved (on-error: fail)'])
  })
})

describe('the verdict of an empty scan', () => {
  it('keeps a baseline that holds images when the scan found none, saying why; an empty one may be saved', () => {
    const policy = { onDrift: 'fail', onError: 'warn', accept: false, failOn: SEVERITIES } as const
    expect(decide([], policy, new Map(), { referencesFound: 0, recorded: 3 })).toMatchObject({
      save: false,
      keptBecause:
        'no image references were found, so the baseline of 3 images was kept; check the files input'
    })
    expect(decide([], policy, new Map(), { referencesFound: 0, recorded: 0 }).save).toBe(true)
  })
})

describe('the baseline document', () => {
  const valid = baseline({
    'docker.io/library/python:3.12-slim': entry(sha('a'), { 'linux/amd64': sha('b') })
  })

  it('reads what it writes', () => {
    expect(parseBaseline(serializeBaseline(valid), 'b.json')).toEqual(valid)
  })

  it.each([
    ['{not json', /^b\.json is not valid JSON \(.*\)$/],
    ['[]', /^b\.json is not a base-image-drift baseline$/],
    [
      '{"schema":"other","version":1,"images":{}}',
      /^b\.json is not a base-image-drift baseline \(no matching "schema"\)$/
    ],
    [
      JSON.stringify({ ...valid, version: 2 }),
      /^b\.json was written by a newer base-image-drift \(baseline version 2; this one reads version 1\): upgrade base-image-drift$/
    ],
    [
      JSON.stringify({ ...valid, images: { 'python:3.12': entry(sha('a')) } }),
      /^b\.json has image "python:3.12", which is not in normalized form \(docker\.io\/library\/python:3\.12\)$/
    ],
    [
      JSON.stringify({ ...valid, images: { 'docker.io/library/x:1': { digest: 'md5:abc' } } }),
      /^b\.json has no valid digest for "docker\.io\/library\/x:1"$/
    ],
    [
      '{\n<<<<<<< HEAD\n  "a": 1\n=======\n  "a": 2\n>>>>>>> main\n}\n',
      /^b\.json has a git merge-conflict marker on line 2: resolve the conflict$/
    ]
  ])('refuses %s with one clear reason', (text, reason) => {
    expect(() => parseBaseline(text, 'b.json')).toThrow(reason)
  })
})

describe('accept entries matched to what drifted', () => {
  const resolutions = (map: Record<string, Resolution>) => new Map(Object.entries(map))
  const hub = 'docker.io/library/python:3.12-slim'
  const mirror = 'mirror.example.com:5000/library/python:3.12-slim'
  const ghcr = 'ghcr.io/acme/app:1'

  it.each([
    ['python:3.12-slim', [hub, ghcr], [hub]],
    ['docker.io/library/python:3.12-slim', [hub], [hub]],
    ['index.docker.io/library/python:3.12-slim', [hub], [hub]],
    // a pinned form names its tag: the pin line the report shows, pasted back
    [`python:3.12-slim@${sha('a')}`, [hub], [hub]],
    // the registry left out: the one drifted image of that path and tag, on a mirror
    ['python:3.12-slim', [mirror, ghcr], [mirror]],
    [
      'python:3.12-slim',
      ['artifactory.example.com/docker-remote/library/python:3.12-slim'],
      ['artifactory.example.com/docker-remote/library/python:3.12-slim']
    ],
    ['ghcr.io/acme/app:1', [ghcr], [ghcr]]
  ])('%s accepts the drift of %j', (entry, drifted, accepted) => {
    expect(matchAcceptance([entry], drifted)).toEqual({ acceptance: accepted, refused: [] })
  })

  it('prefers Docker Hub over a mirror for an entry without a registry', () => {
    expect(matchAcceptance(['python:3.12-slim'], [mirror, hub]).acceptance).toEqual([hub])
  })

  it('refuses an entry that names another tag, an image that did not drift, or two mirrors', () => {
    expect(matchAcceptance(['python:3.11-slim'], [mirror, ghcr]).refused).toEqual([
      `"python:3.11-slim" matches no image that drifted in this run; what drifted: ghcr.io/acme/app:1 (accept: ghcr.io/acme/app:1), ${mirror} (accept: python:3.12-slim)`
    ])
    expect(matchAcceptance(['ghcr.io/acme/app:2'], []).refused).toEqual([
      '"ghcr.io/acme/app:2" matches no image that drifted in this run; no image drifted in this run'
    ])
    const other = 'other.example.com/library/python:3.12-slim'
    expect(matchAcceptance(['python:3.12-slim'], [mirror, other]).refused).toEqual([
      `"python:3.12-slim" names 2 images that drifted (${mirror}, ${other}): write the one to accept with its registry`
    ])
    // a registry written is a registry meant, and only official images have a short name
    expect(matchAcceptance(['acme/app:1'], [ghcr]).refused).toHaveLength(1)
    expect(matchAcceptance(['docker.io/library/python:3.12-slim'], [mirror]).refused).toHaveLength(
      1
    )
  })

  it('a refused entry accepts nothing in compare, and says so', () => {
    const result = compare(
      [found(hub)],
      resolutions({ [hub]: { digest: sha('b') } }),
      baseline({ [hub]: entry(sha('a')) }),
      { ...options, accept: ['python:3.13-slim'] }
    )
    expect(result.refused).toEqual([
      `"python:3.13-slim" matches no image that drifted in this run; what drifted: ${hub} (accept: python:3.12-slim)`
    ])
    expect(result.next.images[hub].digest).toBe(sha('a'))
  })
})
