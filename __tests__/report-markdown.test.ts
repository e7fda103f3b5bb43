import { compare } from '../src/compare/compare.js'
import { decide } from '../src/decide/policy.js'
import { renderMarkdown } from '../src/report/markdown.js'
import { SEVERITIES } from '../src/explain/diff.js'
import { found } from './helpers/references.js'
import { pinPlaces } from '../src/pin/place.js'
import { FileText } from '../src/sources/read/pin-site.js'
import { sha } from './helpers/scan-context.js'

describe('the Markdown report', () => {
  const policy = {
    onDrift: 'fail' as const,
    onError: 'warn' as const,
    accept: false,
    failOn: SEVERITIES
  }

  it('says plainly when there was no baseline, and shows the rate limit left', () => {
    const { findings } = compare(
      [found('python:3.12-slim')],
      new Map([['docker.io/library/python:3.12-slim', { digest: sha('a') }]]),
      null,
      {
        platforms: [],
        accept: false,
        now: 'now'
      }
    )
    const report = renderMarkdown(findings, {
      explanations: new Map(),
      baselineFound: false,
      verdict: decide(findings, policy),
      rateLimitRemaining: { 'docker.io': 87 },
      acceptHint: 'x',
      records: true,
      missingBaseline: 'no baseline yet: the first run of this workflow on this branch'
    })
    expect(report).toMatch(
      /^## No baseline found: 1 image recorded without comparison\n\n> \[!WARNING\]\n> No baseline yet: the first run of this workflow on this branch\.\n/
    )
    expect(report).toContain(
      '| `Dockerfile:1` | from | `docker.io/library/python:3.12-slim` | `sha256:aaaaaaaaaaaa` | new |'
    )
    expect(report).toContain('Rate limit: 87 pulls left on docker.io.')
  })

  it('pins Compose and variable-built lines in their own form', () => {
    const texts: Record<string, string> = {
      'compose.yaml': 'services:\n  cache:\n    image: redis:7\n',
      Dockerfile: 'ARG V=3.20\nFROM alpine:${V} AS base\n'
    }
    const compose = {
      ...found('redis:7', 3, 'compose.yaml'),
      column: 12,
      kind: 'compose' as const,
      source: 'image: redis:7'
    }
    const variable = {
      ...found('alpine:3.20', 2),
      source: 'FROM alpine:${V} AS base',
      stage: 'base'
    }
    const baseline = {
      schema: 'https://github.com/base-image-drift/base-image-drift/baseline' as const,
      version: 1 as const,

      images: {
        'docker.io/library/redis:7': { digest: sha('a'), recordedAt: '' },
        'docker.io/library/alpine:3.20': { digest: sha('c'), recordedAt: '' }
      }
    }
    const resolutions = new Map([
      ['docker.io/library/redis:7', { digest: sha('b') }],
      ['docker.io/library/alpine:3.20', { digest: sha('e') }]
    ])
    const compared = compare([compose, variable], resolutions, baseline, {
      platforms: [],
      accept: false,
      now: 'now'
    }).findings
    // as the run places each drift's pin in its file
    const findings = compared.map(f => ({
      ...f,
      pin: pinPlaces(new FileText(f.reference.file, texts[f.reference.file]), [f.reference]).get(
        f.reference
      )
    }))
    const report = renderMarkdown(findings, {
      explanations: new Map(),
      baselineFound: true,
      verdict: decide(findings, policy),
      rateLimitRemaining: {},
      acceptHint: 'run the gate on main with accept: true',
      records: true
    })
    expect(report).toContain(`\`\`\`yaml\nimage: redis:7@${sha('a')}\n\`\`\``)
    expect(report).toContain(`\`\`\`dockerfile\nFROM alpine:\${V}@${sha('c')} AS base\n\`\`\``)
    expect(report).toContain('Or accept the new image: run the gate on main with accept: true.')
    expect(report).toContain(
      '- :x: 2 images changed under their tags since the last successful build'
    )
  })
})
