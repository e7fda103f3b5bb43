import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CacheStore,
  readStaged,
  stagedText,
  stagingIn,
  uploadStaged,
  type StateProvider
} from '../src/baseline/cache-store.js'
import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  type Baseline
} from '../src/baseline/document.js'
import type { Reading } from '../src/baseline/merge.js'
import { sha } from './helpers/scan-context.js'

/**
 * What the main step stages for the post step: its names go through the state provider the
 * store is given (the runner's step state, here a map), and the staged file is read back as
 * outside data.
 */
const PYTHON = 'docker.io/library/python:3.12-slim'
const baseline: Baseline = {
  schema: BASELINE_SCHEMA,
  version: BASELINE_SCHEMA_VERSION,
  images: { [PYTHON]: { digest: sha('b'), seenAt: ['Dockerfile'], recordedAt: '2026-12-01' } }
}
const reading: Reading = {
  images: {
    [PYTHON]: {
      entry: baseline.images[PYTHON],
      accepted: true,
      comparedWith: sha('a')
    }
  },
  scanned: ['Dockerfile'],
  complete: true
}

describe('the staged baseline', () => {
  let temp: string
  beforeEach(() => (temp = mkdtempSync(join(tmpdir(), 'bid-staging-'))))
  afterEach(() => rmSync(temp, { recursive: true, force: true }))

  const mapState = (): StateProvider & { values: Map<string, string> } => {
    const values = new Map<string, string>()
    return {
      values,
      save: (name, value) => values.set(name, value),
      get: name => values.get(name) ?? ''
    }
  }
  const store = (state: StateProvider) =>
    new CacheStore({
      state,
      prefix: 'base-image-drift-v2-0123-',
      legacyPrefix: 'base-image-drift-4567-',
      chain: 'base-image-drift-v2-0123-abcdef012345-',
      deadlineMs: 3000,
      workspace: temp,
      temp,
      env: {}
    })

  it('reads back exactly what was written: the baseline, the reading and what was restored', () => {
    const staged = { baseline, reading, restoredKey: 'k-1', restoredText: null }
    expect(readStaged(stagedText(staged))).toEqual(staged)
  })

  it("passes the staging to the post step through the store's state provider only", async () => {
    const state = mapState()
    expect(await store(state).save(baseline, reading)).toBeNull()
    const staging = stagingIn(state)
    expect(staging).toMatchObject({
      chain: 'base-image-drift-v2-0123-abcdef012345-',
      deadlineMs: 3000,
      path: '.base-image-drift-cache/baseline.json'
    })
    expect(readStaged(readFileSync(staging!.staged, 'utf8')).reading).toEqual(reading)
    expect(stagingIn(mapState())).toBeNull()
  })

  it.each([
    ['not JSON', '{"baseline":', 'the staged baseline is not valid JSON'],
    ['a list', '[]', 'the staged baseline is not an object'],
    [
      'a baseline with a digest that is not one',
      () =>
        stagedText({
          baseline: { ...baseline, images: {} },
          reading,
          restoredKey: null,
          restoredText: null
        }).replace(sha('b'), 'sha256:nope'),
      'the staged baseline has no valid digest for "docker.io/library/python:3.12-slim"'
    ]
  ])(
    'a staged file that is %s is refused with what is wrong, before the cache is asked',
    async (_, text, message) => {
      const state = mapState()
      await store(state).save(baseline, reading)
      const staging = stagingIn(state)!
      writeFileSync(staging.staged, typeof text === 'function' ? text() : text)
      await expect(uploadStaged(staging)).rejects.toThrow(message)
    }
  )
})
