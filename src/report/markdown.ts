/**
 * The Markdown report: the job summary, the `report` output and the pull-request comment.
 */
import { accepts, type Acceptance } from '../compare/accept.js'
import type { Finding } from '../compare/compare.js'
import type { Verdict } from '../decide/policy.js'
import type { DriftedFinding } from '../compare/compare.js'
import {
  byImportance,
  changeSummary,
  comparedTally,
  digestChange,
  errorTitle,
  findingLabel,
  findingLabelWithReason,
  stayOnRelease,
  sourceCompareUrl,
  uncheckedHeadline,
  useSentence,
  type Explanations
} from './findings.js'
import { explanationMarkdown } from './explanation-text.js'
import { pinFence, pinLine, unpinnableWhy } from './remedy.js'
import { counted } from '../words.js'
import { mdCode, mdFence, mdText } from './markdown-escape.js'

export interface ReportContext {
  /** What changed inside each drifted image, keyed by the normalized reference. */
  explanations: Explanations
  baselineFound: boolean
  /** Why a stored baseline could not be used (the cache unavailable, a corrupt lockfile). */
  baselineProblem?: string
  /** Why no baseline was found, with its remedy. */
  missingBaseline?: string
  verdict: Verdict
  /** Docker Hub pulls left, per registry, where the registry said. */
  rateLimitRemaining: Record<string, number>
  /** How to accept drift in this setting (the action's input, or the CLI flag). */
  acceptHint: string
  /** Annotations left out because GitHub shows only so many. */
  unannotated?: number
  /** Whether this run records its digests as the next baseline. */
  records: boolean
  /** Drift this run recorded as accepted (only when it did record). */
  accepted?: Acceptance
  /** Where the baseline came from and who records it, said under the headline. */
  baselineStatement?: string
  /** The Actions cache entry compared with: a details line, never prose. */
  cacheEntry?: string
  /** For the pull-request comment: the tables folded, the lockfile not repeated. */
  comment?: boolean
  /** The lockfile that accepts this run's digests, when the run did not write it. */
  lockfileToCommit?: { name: string; text: string }
}

/** Past this, the lockfile to commit is not printed whole: the job summary has a 1 MiB limit. */
const LOCKFILE_SHOWN_BYTES = 256 * 1024

/**
 * The Markdown report: the headline; under it, per drift, what changed in one line, the pin
 * line and the way to accept; what could not be checked; then the table of every reference
 * and each drift in detail (folded in the pull-request comment).
 */
export function renderMarkdown(findings: Finding[], context: ReportContext): string {
  const sorted = [...findings].sort(byImportance(context.explanations))
  const lines = [`## ${headline(findings, context)}`, '']
  if (context.missingBaseline)
    lines.push(`> [!WARNING]\n> ${mdText(sentence(context.missingBaseline))}`, '')
  if (context.verdict.failures.length > 0)
    lines.push(...context.verdict.failures.map(f => `- :x: ${f}`), '')
  if (context.verdict.keptBecause)
    lines.push(`> [!WARNING]\n> ${mdText(context.verdict.keptBecause)}`, '')
  const drifts = sorted.flatMap(f => (f.status === 'drifted' ? [f] : []))
  for (const finding of drifts) lines.push(...remedy(finding, context), '')
  const errors = sorted.flatMap(f => (f.status === 'error' ? [f] : []))
  if (errors.length > 0) {
    lines.push('### Could not check', '')
    for (const f of errors)
      lines.push(
        `- ${mdCode(`${f.reference.file}:${f.reference.line}`)} ${mdCode(f.reference.source)}: ${mdText(`${errorTitle(f.error)}: ${f.error.message}`)}`
      )
    lines.push('')
  }
  const stale = sorted.flatMap(f =>
    f.status === 'pinned' && f.stale && f.tagDigest ? [{ ...f, tagDigest: f.tagDigest }] : []
  )
  if (stale.length > 0) {
    lines.push('### Pins whose tag moved on', '')
    for (const finding of stale) lines.push(...bump(finding, context), '')
  }
  if (context.baselineStatement) lines.push(mdText(context.baselineStatement), '')
  const details: string[] = []
  if (findings.length > 0) {
    details.push(
      '| Where | Kind | Image | Digest (baseline → now) | Finding |',
      '|---|---|---|---|---|'
    )
    for (const finding of sorted) {
      const where = mdCode(`${finding.reference.file}:${finding.reference.line}`, true)
      const image = mdCode(finding.image ?? finding.reference.source, true)
      const label = findingLabel(finding)
      const shown =
        label === 'drifted' || label === 'error'
          ? `**${label}**`
          : mdText(findingLabelWithReason(finding))
      const digests = digestChange(finding)
      details.push(
        `| ${where} | ${finding.reference.kind} | ${image} | ${digests ? mdCode(digests, true) : ''} | ${shown} |`
      )
    }
    details.push('')
  }
  for (const finding of drifts) details.push(...driftSection(finding, context), '')
  if (context.comment && details.length > 0)
    lines.push(
      `<details><summary>Every reference${drifts.length > 0 ? ', and what changed in detail' : ''}</summary>`,
      '',
      ...details,
      '</details>',
      ''
    )
  else lines.push(...details)
  if (context.unannotated)
    lines.push(
      `${counted(context.unannotated, 'more finding')} ${context.unannotated === 1 ? 'was' : 'were'} not annotated (GitHub shows at most 10 of each type per step).`,
      ''
    )
  for (const [registry, remaining] of Object.entries(context.rateLimitRemaining)) {
    lines.push(`Rate limit: ${remaining} pulls left on ${mdText(registry)}.`, '')
  }
  if (context.lockfileToCommit)
    lines.push(
      ...(context.comment
        ? [
            `To accept, commit the lockfile the job summary shows as ${mdCode(context.lockfileToCommit.name)}.`
          ]
        : lockfileSection(context.lockfileToCommit)),
      ''
    )
  if (context.cacheEntry) lines.push(`<sub>Cache entry ${mdCode(context.cacheEntry)}</sub>`, '')
  return lines.join('\n')
}

/** One drift's way out, first: what changed in a line, the pin line, and how to accept. */
function remedy(finding: DriftedFinding, context: ReportContext): string[] {
  const { reference } = finding
  const change = changeSummary(context.explanations.get(finding.image))
  const pin = pinLine(finding, finding.previous.digest)
  const fence = mdFence(pin.split('\n'))
  const unpinnable = unpinnableWhy(finding)
  const accepted = accepts(context.accepted ?? false, finding.image)
  const explanation = context.explanations.get(finding.image)
  return [
    `**${mdCode(`${reference.file}:${reference.line}`)} ${mdCode(finding.image)}** changed under its tag${change ? `: ${mdText(change)}` : ''}.`,
    '',
    ...(finding.packageUses ?? []).map(
      use =>
        `- ${mdCode(`${use.file}:${use.line}`)}: ${mdText(useSentence(use, finding, explanation))}`
    ),
    ...(finding.packageUses?.length ? [''] : []),
    ...(accepted
      ? ['Accepted: the new digest is recorded as the baseline.']
      : [
          unpinnable
            ? `Keep the known-good image by pinning it (not on this line: ${mdText(unpinnable)}):`
            : 'Keep the known-good image by pinning it:',
          '',
          fence + pinFence(finding),
          pin,
          fence,
          '',
          `Or accept the new image: ${mdText(context.acceptHint)}.`
        ])
  ]
}

type PinnedFinding = Extract<Finding, { status: 'pinned' }>

/**
 * A pin whose tag has moved on: still built as pinned, no failure, but what taking the tag's
 * new image would change, and the bumped line, so pinning is no way to stop looking.
 */
function bump(finding: PinnedFinding & { tagDigest: string }, context: ReportContext): string[] {
  const change = changeSummary(context.explanations.get(finding.image))
  const line = pinLine(finding, finding.tagDigest)
  const fence = mdFence(line.split('\n'))
  return [
    `**${mdCode(`${finding.reference.file}:${finding.reference.line}`)} ${mdCode(finding.image)}** is pinned; its tag now points to ${mdCode(finding.tagDigest)}${change ? `, which changes: ${mdText(change)}` : ''}. To take it, bump the pin once the new image is checked:`,
    '',
    fence + pinFence(finding),
    line,
    fence
  ]
}

function lockfileSection({ name, text }: { name: string; text: string }): string[] {
  const heading = `### Commit this as ${mdCode(name)} to accept`
  const why =
    "This run's digests, drift accepted. A change to the lockfile in a pull request is an acceptance: review it as one."
  if (text.length > LOCKFILE_SHOWN_BYTES)
    return [
      heading,
      '',
      why,
      '',
      `It is ${Math.round(text.length / 1024)} KiB, too large to show here: run \`base-image-drift check --accept --update --baseline ${mdText(name)}\` and commit the file.`
    ]
  const fence = mdFence(text.split('\n'))
  return [
    heading,
    '',
    why,
    '',
    '<details><summary>The lockfile</summary>',
    '',
    `${fence}json`,
    text.trimEnd(),
    fence,
    '',
    '</details>'
  ]
}

/**
 * Says what was compared and what was only recorded: "no drift" never hides an image nobody
 * compared or could not check. Drift leads; else what could not be checked does.
 */
function headline(findings: Finding[], context: ReportContext): string {
  const settled = settledHeadline(findings, context)
  const unchecked = uncheckedHeadline(findings)
  if (!unchecked) return settled
  if (context.verdict.blind)
    return !context.baselineFound && context.baselineProblem
      ? `${unchecked} · no baseline to compare with: ${mdText(context.baselineProblem)}`
      : unchecked
  return settled.startsWith('Base image drift')
    ? `${settled} · ${unchecked.charAt(0).toLowerCase()}${unchecked.slice(1)}`
    : `${unchecked} · ${settled}`
}

/** The headline of what was compared or recorded. */
function settledHeadline(findings: Finding[], context: ReportContext): string {
  const checked = counted(new Set(findings.map(f => f.image ?? f.reference.source)).size, 'image')
  if (!context.baselineFound && context.baselineProblem)
    return `No baseline to compare with, nothing compared (${checked}): ${mdText(context.baselineProblem)}`
  const uncompared = context.records
    ? 'recorded without comparison'
    : 'not compared, and not recorded by this run'
  if (!context.baselineFound) return `No baseline found: ${checked} ${uncompared}`
  const drifted = findings.flatMap(f => (f.status === 'drifted' ? [f] : []))
  const accepted = drifted.filter(f => accepts(context.accepted ?? false, f.image))
  const unaccepted = drifted.length - accepted.length
  const { compared, fresh } = comparedTally(findings)
  const tally = `${compared} compared${fresh > 0 ? `, ${fresh} new (${uncompared})` : ''}`
  if (unaccepted > 0)
    return `Base image drift: ${counted(unaccepted, 'reference')} changed under ${unaccepted === 1 ? 'its tag' : 'their tags'} (${tally})`
  if (accepted.length > 0)
    return `Accepted: ${counted(new Set(accepted.map(f => f.image)).size, 'image')} recorded at ${accepted.length === 1 ? 'its' : 'their'} new digest (${tally})`
  return `No drift: ${tally}`
}

function driftSection(finding: DriftedFinding, context: ReportContext): string[] {
  const { reference } = finding
  const lines = [
    `### ${mdCode(`${reference.file}:${reference.line}`)} ${mdCode(finding.image)} changed under its tag`,
    ''
  ]
  const explanation = context.explanations.get(finding.image)
  if (explanation) lines.push(...explanationMarkdown(explanation), '')
  lines.push(
    `Digest ${mdCode(finding.previous.digest)} (recorded ${mdText(finding.previous.recordedAt || 'earlier')}) is now ${mdCode(finding.current.digest)}.`
  )
  if (finding.changedPlatforms)
    lines.push(`Changed platforms: ${mdText(finding.changedPlatforms.join(', '))}.`)
  lines.push('')
  const stay = stayOnRelease(finding, explanation)
  if (stay)
    lines.push(
      `Or stay on ${mdText(stay.release)}: the tag ${mdCode(stay.reference)} still exists (${mdCode(stay.digest)}).`,
      ''
    )
  const compare = sourceCompareUrl(explanation)
  if (compare) lines.push(`Source changes: [compare the revisions](${compare}).`, '')
  return lines
}

/** A message as a sentence: capital first, full stop last. */
function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`
}
