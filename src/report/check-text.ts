/**
 * `check` in a terminal: the findings table and each drift with the line to paste.
 */
import type { DriftedFinding, Finding } from '../compare/compare.js'
import type { Verdict } from '../decide/policy.js'
// the same words as the job summary's, for a terminal
import {
  byImportance,
  comparedTally,
  digestChange,
  errorTitle,
  findingLabel,
  findingLabelWithReason,
  sourceCompareUrl,
  stayOnRelease,
  uncheckedHeadline,
  useSentence
} from './findings.js'
import type { Explanations } from './findings.js'
import { explanationText } from './explanation-text.js'
import { pinLine } from './remedy.js'
import { formatTable } from './table.js'
import { findingJson } from './findings.js'
import type { Checked } from '../pipeline/run.js'

interface CheckContext {
  baseline: string
  baselineFound: boolean
  updated: boolean
  /** `--accept` was given. */
  accept: boolean
  /** The command that accepts this run's drift, as the user ran this one. */
  acceptCommand: string
  /** The terminal's columns; unset: a file or a pipe, which gets the table whole. */
  width?: number
  /** With --accept: why the baseline could not be used. */
  replaced: string | null
  rateLimitRemaining: Record<string, number>
}

/**
 * `check` in a terminal: a table of every reference, then each drift with the line to paste,
 * then what became of the run; and the failures and warnings, which go to stderr.
 */
export function formatCheckText(
  findings: Finding[],
  explanations: Explanations,
  verdict: Verdict,
  context: CheckContext
): { report: string; messages: string[] } {
  const sorted = [...findings].sort(byImportance(explanations))
  const rows = sorted.map(f => [
    `${f.reference.file}:${f.reference.line}`,
    f.reference.kind,
    f.image ?? f.reference.source,
    digestChange(f),
    findingLabelWithReason(f)
  ])
  const parts = [
    formatTable(
      ['FILE:LINE', 'KIND', 'IMAGE', 'DIGEST (BASELINE → NOW)', 'FINDING'],
      rows,
      context.width
    )
  ]
  for (const finding of sorted) {
    const at = `${finding.reference.file}:${finding.reference.line}`
    if (finding.status === 'drifted')
      parts.push('', ...driftText(finding, explanations, context.acceptCommand))
    else if (finding.status === 'error')
      parts.push('', `${at}: ${errorTitle(finding.error)}: ${finding.error.message}`)
  }
  parts.push('', ...outcomeText(findings, verdict, context))
  const messages = [
    ...verdict.failures.map(failure => `FAIL: ${failure}`),
    ...(verdict.keptBecause ? [`warning: ${verdict.keptBecause}`] : [])
  ]
  return { report: parts.join('\n') + '\n', messages }
}

/** One drift: its digests, what changed, the lines that need what vanished, and the ways out. */
function driftText(
  finding: DriftedFinding,
  explanations: Explanations,
  acceptCommand: string
): string[] {
  const { previous, current } = finding
  const explanation = explanations.get(finding.image)
  const stay = stayOnRelease(finding, explanation)
  const compare = sourceCompareUrl(explanation)
  return [
    `${finding.reference.file}:${finding.reference.line}: ${finding.image} changed under its tag`,
    `  was ${previous.digest}${previous.recordedAt ? ` (recorded ${previous.recordedAt})` : ''}`,
    `  now ${current.digest}`,
    ...(finding.changedPlatforms
      ? [`  changed platforms: ${finding.changedPlatforms.join(', ')}`]
      : []),
    ...(explanation ? explanationText(explanation, '  ') : []),
    ...(finding.packageUses ?? []).map(
      use => `  ${use.file}:${use.line}: ${useSentence(use, finding, explanation)}`
    ),
    // a pin of several lines (a Kustomize entry's digest) keeps its lines under each other
    `  keep the known-good image:  ${pinLine(finding, previous.digest).replaceAll('\n', `\n${' '.repeat(30)}`)}`,
    ...(stay ? [`  or stay on the old release: ${stay.reference}`] : []),
    ...(compare ? [`  source changes:             ${compare}`] : []),
    `  or accept the new one:      ${acceptCommand}`
  ]
}

/** What became of the baseline, what was accepted, the rate limits and the counts. */
function outcomeText(findings: Finding[], verdict: Verdict, context: CheckContext): string[] {
  const parts: string[] = []
  const unchecked = uncheckedHeadline(findings)
  if (unchecked) parts.push(`${unchecked}.`)
  const { blind } = verdict
  if (context.replaced) {
    parts.push(
      context.updated
        ? `Replaced the baseline in ${context.baseline}, which could not be used (${context.replaced}), with this run's digests.`
        : `The baseline in ${context.baseline} could not be used (${context.replaced}); add --update to replace it.`
    )
  } else if (!context.baselineFound) {
    if (!blind)
      parts.push(
        context.updated
          ? `First run: baseline recorded in ${context.baseline}, nothing compared.`
          : `No baseline at ${context.baseline}: run with --update to record one.`
      )
  } else if (verdict.drifted === 0 && !blind) {
    const { compared, fresh } = comparedTally(findings)
    const uncompared = context.updated
      ? 'recorded without comparison'
      : 'not compared, not recorded'
    parts.push(
      `No drift against ${context.baseline}: ${compared} compared${fresh > 0 ? `, ${fresh} new (${uncompared})` : ''}.${context.updated ? ' Baseline updated.' : ''}`
    )
  }
  const accepted = [
    ...new Set(
      findings.flatMap(f =>
        f.status === 'drifted' && verdict.outcomes.get(f) === 'accepted' ? [f.image] : []
      )
    )
  ]
  if (context.accept && accepted.length > 0)
    parts.push(
      context.updated
        ? `Accepted and recorded in ${context.baseline}: ${accepted.join(', ')}.`
        : `Accepted for this run only: ${accepted.join(', ')}; nothing was recorded. To record it: ${context.acceptCommand}`
    )
  else if (context.accept) parts.push('Nothing drifted, so --accept accepted nothing.')
  for (const [registry, remaining] of Object.entries(context.rateLimitRemaining))
    parts.push(`rate limit: ${remaining} pulls left on ${registry}`)
  const counts = new Map<string, number>()
  for (const f of findings) counts.set(findingLabel(f), (counts.get(findingLabel(f)) ?? 0) + 1)
  parts.push(
    `${findings.length} references: ${[...counts].map(([label, n]) => `${n} ${label}`).join(', ') || 'none'}`
  )
  return parts
}

/** `check --json`: the run's outcome and every finding, as one object. */
export function checkJson(result: Checked, baseline: string): object {
  return {
    baseline,
    baselineFound: result.baseline !== null,
    updated: result.saved,
    drifted: result.verdict.drifted > 0,
    failures: result.verdict.failures,
    findings: result.findings.map(f => findingJson(f, result.explanations)),
    rateLimitRemaining: result.stats.rateLimitRemaining
  }
}
