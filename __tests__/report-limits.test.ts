import { compare } from '../src/compare/compare.js'
import { decide } from '../src/decide/policy.js'
import type { Explanation } from '../src/explain/diff.js'
import { parseReference } from '../src/reference/reference.js'
import { findingJson } from '../src/report/findings.js'
import { jsonWithinBytes, STEP_TEXT_BYTES, withinBytes } from '../src/report/limits.js'
import { renderMarkdown } from '../src/report/markdown.js'
import { sha } from './helpers/scan-context.js'

const MiB = 1024 * 1024

/** A drift whose image lost 30,000 packages and gained 30,000: what a hostile registry can say. */
function hugeDrift() {
  const reference = {
    file: 'Dockerfile',
    line: 1,
    column: 1,
    kind: 'from',
    source: 'FROM python:3.12-slim',
    image: parseReference('python:3.12-slim'),
    error: null
  }
  const image = 'docker.io/library/python:3.12-slim'
  const { findings } = compare(
    [reference],
    new Map([[`${image}`, { digest: sha('b') }]]),
    {
      schema: 'https://github.com/base-image-drift/base-image-drift/baseline',
      version: 1,

      images: { [image]: { digest: sha('a'), recordedAt: '' } }
    },
    { platforms: [], accept: false, now: 'now' }
  )
  const pkg = (prefix: string, i: number) => ({
    name: `${prefix}-package-number-${i}`,
    version: `1.${i}-1+deb12u1`,
    type: 'deb'
  })
  const explanation: Explanation = {
    platform: 'linux/amd64',
    created: {},
    os: { before: 'Debian 12', after: 'Debian 12' },
    env: [],
    labels: [],
    annotations: [],
    layers: { before: { count: 1, size: 1 }, after: { count: 1, size: 1 } },
    packages: {
      from: 'dpkg',
      diff: {
        removed: Array.from({ length: 30_000 }, (_, i) => pkg('gone', i)),
        added: Array.from({ length: 30_000 }, (_, i) => pkg('new', i)),
        changed: []
      }
    },
    severity: 'removed'
  }
  return { findings, explanations: new Map([[image, explanation]]) }
}

describe('what the action writes stays within GitHub limits', () => {
  it('60,000 package changes make a summary under 1 MiB that ends its list with a count, and outputs under 1 MiB', () => {
    const { findings, explanations } = hugeDrift()
    const report = renderMarkdown(findings, {
      explanations,
      baselineFound: true,
      verdict: decide(findings, {
        onDrift: 'fail',
        onError: 'warn',
        accept: false,
        failOn: ['removed']
      }),
      rateLimitRemaining: {},
      acceptHint: 'x',
      records: true
    })
    expect(Buffer.byteLength(report)).toBeLessThan(MiB)
    expect(report).toContain('…and 59800 more package changes, not listed here.')
    const { json, omitted } = jsonWithinBytes(findings.map(f => findingJson(f, explanations)))
    expect(omitted).toBe(0)
    expect(Buffer.byteLength(json)).toBeLessThan(MiB)
    expect(JSON.parse(json)[0].explanation.packages.diff.notListed).toEqual({
      removed: 29_800,
      added: 29_800,
      changed: 0
    })
  })

  it('cuts text at a line, and a JSON array at an element, saying what was left out', () => {
    const text = 'line\n'.repeat(400_000)
    const cut = withinBytes(text)
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(STEP_TEXT_BYTES)
    expect(cut).toMatch(
      /\n\n…\d+ KiB more not shown: GitHub drops a job summary or output over 1 MiB\.\n$/
    )
    const { json, omitted } = jsonWithinBytes(
      Array.from({ length: 3000 }, (_, i) => ({ i, pad: 'x'.repeat(1000) }))
    )
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(STEP_TEXT_BYTES)
    expect(JSON.parse(json).length + omitted).toBe(3000)
  })
})
