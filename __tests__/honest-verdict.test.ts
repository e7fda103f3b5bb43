import { BASELINE_SCHEMA, type Baseline } from '../src/baseline/document.js'
import { coloured, wantsColour } from '../src/cli/colour.js'
import { acceptInvocation } from '../src/cli/main.js'
import { compare } from '../src/compare/compare.js'
import type { ErrorReaction } from '../src/config/defaults.js'
import { decide } from '../src/decide/policy.js'
import { SEVERITIES } from '../src/explain/diff.js'
import { formatCheckText } from '../src/report/check-text.js'
import { renderMarkdown } from '../src/report/markdown.js'
import { progressLines } from '../src/report/progress.js'
import { formatTable } from '../src/report/table.js'
import type { Resolution } from '../src/resolve/resolve.js'
import { found } from './helpers/references.js'
import { sha } from './helpers/scan-context.js'

/**
 * A gate that cannot see is not "no drift": what could not be checked leads every report, a
 * run that checked nothing fails by default and records nothing.
 */
const PY = 'docker.io/library/python:3.12-slim'
const REDIS = 'docker.io/library/redis:7'
const down = (registry = 'docker.io'): Resolution => ({
  failure: { kind: 'network', registry, message: `${registry}: connection refused (ECONNREFUSED)` }
})
const baseline = (images: Baseline['images']): Baseline => ({
  schema: BASELINE_SCHEMA,
  version: 1,
  images
})
const recorded = baseline({
  [PY]: { digest: sha('a'), recordedAt: 'then' },
  [REDIS]: { digest: sha('c'), recordedAt: 'then' }
})
const policy = (onError: ErrorReaction) => ({
  onDrift: 'fail' as const,
  onError,
  accept: false,
  failOn: SEVERITIES
})
const findingsOf = (answers: Record<string, Resolution>, stored: Baseline | null = recorded) =>
  compare(
    [found('python:3.12-slim'), found('redis:7', 2)],
    new Map(Object.entries(answers)),
    stored,
    {
      platforms: [],
      accept: false,
      now: 'now'
    }
  ).findings
const scan = { referencesFound: 2, recorded: 2 }
const markdown = (findings: ReturnType<typeof findingsOf>, onError: ErrorReaction = 'auto') =>
  renderMarkdown(findings, {
    explanations: new Map(),
    baselineFound: true,
    verdict: decide(findings, policy(onError), new Map(), scan),
    rateLimitRemaining: {},
    acceptHint: 'x',
    records: true
  }).split('\n')[0]

describe('a run that could not check every image', () => {
  it('by default fails when no image could be checked, records nothing, and says why first', () => {
    const blind = findingsOf({ [PY]: down(), [REDIS]: down() })
    const verdict = decide(blind, policy('auto'), new Map(), scan)
    expect(verdict).toMatchObject({
      failures: [
        'no image could be checked: all 2 image references failed to scan or resolve (on-error: auto fails a run that checked nothing; on-error: warn only warns)'
      ],
      unchecked: 2,
      images: 2,
      save: false,
      keptBecause:
        'no image could be checked, so nothing was recorded; the baseline of 2 images was kept'
    })
    expect(blind.map(f => verdict.outcomes.get(f))).toEqual(['fails', 'fails'])
    expect(markdown(blind)).toBe('## Could not check 2 of 2 images: docker.io unreachable')
  })

  it('with on-error: warn chosen, only warns, and still records nothing over nothing', () => {
    const blind = findingsOf({ [PY]: down(), [REDIS]: down() }, null)
    const verdict = decide(blind, policy('warn'), new Map(), { referencesFound: 2, recorded: 0 })
    expect(verdict).toMatchObject({
      failures: [],
      save: false,
      keptBecause: 'no image could be checked, so nothing was recorded'
    })
  })

  it('warns while some image was checked, and the headline says both', () => {
    const partly = findingsOf({ [PY]: { digest: sha('a') }, [REDIS]: down('ghcr.io') })
    const verdict = decide(partly, policy('auto'), new Map(), scan)
    expect(verdict).toMatchObject({ failures: [], unchecked: 1, images: 2, save: true })
    expect(markdown(partly)).toBe(
      '## Could not check 1 of 2 images: ghcr.io unreachable · No drift: 1 compared'
    )
    expect(decide(partly, policy('fail'), new Map(), scan).failures).toEqual([
      '1 image reference could not be scanned or resolved (on-error: fail)'
    ])
  })

  it('leads with drift when there is drift, and names several causes as several', () => {
    const both = findingsOf({
      [PY]: { digest: sha('b') },
      [REDIS]: { failure: { kind: 'not-found', registry: 'docker.io', message: 'no tag' } }
    })
    expect(markdown(both)).toBe(
      '## Base image drift: 1 reference changed under its tag (1 compared) · could not check 1 of 2 images: no such tag or repository'
    )
    const two = findingsOf({
      [PY]: down(),
      [REDIS]: { failure: { kind: 'not-found', registry: 'docker.io', message: 'no tag' } }
    })
    expect(markdown(two)).toBe('## Could not check 2 of 2 images: 2 causes, listed below')
  })

  it('in the terminal: the headline first, the failure and the warning for stderr', () => {
    const blind = findingsOf({ [PY]: down(), [REDIS]: down() }, null)
    const verdict = decide(blind, policy('auto'), new Map(), { referencesFound: 2, recorded: 0 })
    const text = formatCheckText(blind, new Map(), verdict, {
      baseline: 'lock.json',
      baselineFound: false,
      updated: false,
      accept: false,
      acceptCommand: 'x',
      replaced: null,
      rateLimitRemaining: {}
    })
    expect(text.report).toContain('\nCould not check 2 of 2 images: docker.io unreachable.\n')
    expect(text.report).not.toContain('First run')
    expect(text.messages).toEqual([
      'FAIL: no image could be checked: all 2 image references failed to scan or resolve (on-error: auto fails a run that checked nothing; on-error: warn only warns)',
      'warning: no image could be checked, so nothing was recorded'
    ])
  })
})

describe('what could not be checked, at its edges', () => {
  it('a line pinned to a digest is checked whatever the registry says: all pinned, the registry down, the run passes', () => {
    const pinned = compare(
      [found(`python:3.12-slim@${sha('a')}`)],
      new Map([
        [`${PY}@${sha('a')}`, down()],
        [PY, down()]
      ]),
      null,
      { platforms: [], accept: false, now: 'now' }
    ).findings
    const verdict = decide(pinned, policy('auto'), new Map(), { referencesFound: 1, recorded: 0 })
    expect([verdict.unchecked, verdict.failures]).toEqual([0, []])
  })

  it('when nothing could be checked and the baseline could not be read either, the headline says both', () => {
    const blind = findingsOf({ [PY]: down(), [REDIS]: down() }, null)
    const headline = renderMarkdown(blind, {
      explanations: new Map(),
      baselineFound: false,
      baselineProblem: 'the baseline cache could not be read (503)',
      verdict: decide(blind, policy('auto'), new Map(), scan),
      rateLimitRemaining: {},
      acceptHint: 'x',
      records: true
    }).split('\n')[0]
    expect(headline).toBe(
      '## Could not check 2 of 2 images: docker.io unreachable · no baseline to compare with: the baseline cache could not be read (503)'
    )
  })

  it('the advice repeats the command line, quoted for a shell, with the flags before a --', () => {
    expect(acceptInvocation('node dist/cli.js', ['check', 'my app', '--accept'])).toBe(
      "node dist/cli.js check 'my app' --accept --update"
    )
    expect(acceptInvocation('base-image-drift', ['check', '--', '-old/Dockerfile'])).toBe(
      'base-image-drift check --accept --update -- -old/Dockerfile'
    )
  })
})

describe('text for a terminal', () => {
  it("keeps a table within a terminal's 80 columns: rows too wide become records; a pipe gets them whole", () => {
    const narrow = formatTable(['A', 'B'], [['x', 'y']], 80)
    expect(narrow).toBe('A  B\nx  y')
    const rows = [['Dockerfile:1', `ghcr.io/acme/${'very-long-name-'.repeat(5)}:1`, 'drifted']]
    expect(formatTable(['FILE:LINE', 'IMAGE', 'FINDING'], rows).split('\n')[0]).toMatch(
      /^FILE:LINE {5}IMAGE {2,}FINDING$/
    )
    const wide = formatTable(['FILE:LINE', 'IMAGE', 'FINDING'], rows, 80)
    expect(wide).toBe(
      `Dockerfile:1  drifted\n    image: ghcr.io/acme/${'very-long-name-'.repeat(5)}:1`
    )
  })

  it('colours a terminal, never a pipe, as NO_COLOR and FORCE_COLOR say', () => {
    expect(wantsColour({}, true)).toBe(true)
    expect(wantsColour({}, false)).toBe(false)
    expect(wantsColour({ NO_COLOR: '1' }, true)).toBe(false)
    expect(wantsColour({ FORCE_COLOR: '1', NO_COLOR: '1' }, false)).toBe(true)
    expect(wantsColour({ FORCE_COLOR: '0' }, false)).toBe(false)
    expect(coloured('Base image drift: 1\nplain')).toBe('\x1b[31mBase image drift: 1\x1b[0m\nplain')
  })

  it('says where a run is: each phase, and resolving at most every 5 s, the last always', () => {
    const lines: string[] = []
    let now = 0
    const debug: string[] = []
    const say = progressLines(line => lines.push(line), {
      everyMs: 5000,
      clock: () => now,
      detail: line => debug.push(line)
    })
    say({ phase: 'scanned', files: 3, references: 4, images: 2 })
    say({ phase: 'resolving', done: 1, total: 3, image: 'a:1' })
    now = 6000
    say({ phase: 'resolving', done: 2, total: 3, image: 'b:1' })
    say({ phase: 'resolving', done: 3, total: 3, image: 'c:1' })
    say({ phase: 'explaining', images: 1 })
    expect(lines).toEqual([
      'Scanned 3 files: 4 image references, 2 distinct images',
      'Resolved 2 of 3 images…',
      'Resolved 3 of 3 images',
      'Explaining what changed in 1 drifted image…'
    ])
    expect(debug).toEqual(['resolved a:1', 'resolved b:1', 'resolved c:1'])
  })
})
