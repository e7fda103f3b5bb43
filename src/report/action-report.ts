/**
 * What the action says about a run, as values: the log's warnings and notices, the
 * annotations within GitHub's limits, the job summary, the step's outputs, and how the job
 * ends. Pure: the action prints and sets what this returns.
 */
import { serializeBaseline, type Baseline } from '../baseline/document.js'
import type { Restored } from '../baseline/store.js'
import type { Finding } from '../compare/compare.js'
import type { Checked } from '../pipeline/run.js'
import type { Reaction } from '../config/defaults.js'
import { logLine } from '../plain-text.js'
import { counted } from '../words.js'
import {
  ANNOTATIONS_PER_TYPE,
  annotationsFor,
  recordedNotices,
  withinLimits,
  type Annotation
} from './annotations.js'
import { findingJson } from './findings.js'
import { jsonWithinBytes, STEP_TEXT_BYTES, withinBytes } from './limits.js'
import { renderMarkdown, type ReportContext as MarkdownContext } from './markdown.js'
import { pinnedSection } from './pinned.js'
import type { PinOutcome } from '../pipeline/pin.js'

/** A line of the step's log: a warning or notice (annotated where it names a file), or plain text. */
export interface LogEntry {
  level: 'error' | 'warning' | 'notice' | 'info'
  message: string
  title?: string
  file?: string
  line?: number
  column?: number
}

/** What the run decided about recording, in words for the summary. */
export interface RecordingWords {
  records: boolean
  statement: string
  acceptWhere: string
}

/** Why no baseline was found, and the workflow file to annotate with it. */
export interface MissingBaseline {
  message: string
  file?: string
}

export interface ReportContext {
  recording: RecordingWords
  missing: MissingBaseline | null
  /** The committed lockfile's name; empty with the Actions cache. */
  lockfile: string
  /** What input write-pins rewrote; null when it is off. */
  pinned: PinOutcome | null
}

/** The step's outputs, as action.yml declares them: the type makes a run set every one. */
export const ACTION_OUTPUTS = [
  'drifted',
  'changes',
  'images',
  'report',
  'baseline-found',
  'lockfile',
  'pinned-files'
] as const

export interface ActionReport {
  /** In the order they are printed: problems, then annotations, then output limits. */
  log: LogEntry[]
  /** Every annotation, uncapped: SARIF and a check run take them all. */
  everyAnnotation: Annotation[]
  summary: string
  /** The sticky pull-request comment: shorter than the summary. */
  comment: string
  outputs: Record<(typeof ACTION_OUTPUTS)[number], string>
}

export function actionReport(result: Checked, context: ReportContext): ActionReport {
  const { findings, explanations, verdict, restored, policy } = result
  const { recording, missing } = context
  const log: LogEntry[] = []
  const baselineProblem =
    restored.state === 'unavailable'
      ? restored.why
      : result.replaced
        ? `the stored baseline could not be used (${result.replaced}); accept: true replaces it with this run's digests`
        : undefined
  if (baselineProblem) log.push({ level: 'warning', message: baselineProblem })
  // where a run that cannot record finds none, the workflow file is what to change
  if (missing) log.push({ level: 'warning', message: missing.message, file: missing.file })
  for (const fallback of result.stats.mirrorFallbacks)
    log.push({ level: 'warning', message: fallback })
  for (const warning of result.discovered.warnings)
    log.push({ level: 'warning', message: warning.message, file: warning.file, line: warning.line })
  // in the log only: what is known only at run time is not a problem of the files
  for (const notice of result.discovered.notices)
    log.push({
      level: 'info',
      message: logLine(`${notice.file}${notice.line ? `:${notice.line}` : ''}: ${notice.message}`)
    })

  const acceptHint = recording.records
    ? recording.acceptWhere
    : `${recording.acceptWhere}, then re-run this job`
  const everyAnnotation = annotationsFor(findings, explanations, verdict, acceptHint)
  // images the baseline lacked, recorded as they are now: a notice each, with its pin line
  const recordedNew = restored.state === 'found' && result.saved ? recordedNotices(findings) : []
  const { annotations, omitted } = withinLimits([...everyAnnotation, ...recordedNew])
  for (const { level, message, title, file, line, column } of annotations)
    log.push({ level, message, title, file, line, column })
  const lockfileText = context.lockfile ? lockfileToCommit(result) : null
  const reportContext: MarkdownContext = {
    explanations,
    baselineFound: result.baseline !== null,
    baselineProblem,
    missingBaseline: missing?.message,
    verdict,
    rateLimitRemaining: result.stats.rateLimitRemaining,
    acceptHint,
    unannotated: omitted,
    records: recording.records,
    accepted: result.saved ? policy.accept : false,
    baselineStatement: baselineStatement(restored, recording.statement, context.lockfile),
    cacheEntry: restored.state === 'found' ? restored.entry : undefined,
    lockfileToCommit: lockfileText ? { name: context.lockfile, text: lockfileText } : undefined
  }
  const summary = withinBytes(
    renderMarkdown(findings, reportContext) + (context.pinned ? pinnedSection(context.pinned) : '')
  )
  // the pull request's comment: the remedy, with the tables folded and the lockfile not repeated
  const comment = withinBytes(renderMarkdown(findings, { ...reportContext, comment: true }))
  const drifted = findings.filter(f => f.status === 'drifted')
  const bounded = (name: string, list: Finding[]) => {
    const { json, omitted: left } = jsonWithinBytes(list.map(f => findingJson(f, explanations)))
    if (left > 0)
      log.push({
        level: 'warning',
        message: `output ${name}: ${counted(left, 'finding')} left out to stay under GitHub's 1 MiB; the job summary lists them`
      })
    return json
  }
  // a lockfile cut short is no lockfile: past the limit the summary says how to write it instead
  const lockfileFits = lockfileText !== null && Buffer.byteLength(lockfileText) <= STEP_TEXT_BYTES
  const outputs: ActionReport['outputs'] = {
    drifted: drifted.length > 0 ? 'true' : 'false',
    changes: bounded('changes', drifted),
    images: bounded('images', findings),
    report: summary,
    'baseline-found': result.baseline !== null ? 'true' : 'false',
    lockfile: lockfileFits ? lockfileText : '',
    'pinned-files': context.pinned?.changed.map(c => c.file).join('\n') ?? ''
  }
  return { log, everyAnnotation, summary, comment, outputs }
}

/** How the job ends, once the report is out. */
export type Ending =
  | { kind: 'passes'; warnings: string[] }
  /** No baseline under `on-missing-baseline: fail`: what this run found is saved first. */
  | { kind: 'missing-baseline'; warnings: string[] }
  /** `annotate`: the reason is an error annotation too, unless that would push out a drift's. */
  | { kind: 'fails'; warnings: string[]; reason: string; annotate: boolean }

export function endingOf(
  result: Checked,
  onMissingBaseline: Reaction,
  log: readonly LogEntry[]
): Ending {
  const warnings = [result.verdict.keptBecause, result.saveProblem].filter(
    (warning): warning is string => Boolean(warning)
  )
  if (result.restored.state === 'none' && onMissingBaseline === 'fail')
    return { kind: 'missing-baseline', warnings }
  if (result.verdict.failures.length === 0) return { kind: 'passes', warnings }
  const errors = log.filter(entry => entry.level === 'error').length
  return {
    kind: 'fails',
    warnings,
    reason: result.verdict.failures.join('; '),
    annotate: errors < ANNOTATIONS_PER_TYPE
  }
}

/**
 * Where the baseline came from and who records it, once: a lockfile run's own words already
 * name its file, and where the cache could not be read, the headline said so and nothing is
 * recorded.
 */
function baselineStatement(
  restored: Restored,
  decided: string,
  lockfile: string
): string | undefined {
  if (restored.state === 'unavailable') return undefined
  const from =
    restored.state === 'found' && restored.from && !lockfile
      ? `Compared with ${restored.from}; `
      : ''
  const sentence = `${from}${decided}.`
  return sentence.charAt(0).toUpperCase() + sentence.slice(1)
}

/**
 * The lockfile that accepts this run's digests, when its images differ from what is
 * committed and this run did not write it: the summary carries it to commit.
 */
function lockfileToCommit(result: Checked): string | null {
  if (result.saved) return null
  const digests = (baseline: Baseline | null) =>
    JSON.stringify(
      Object.entries(baseline?.images ?? {})
        .map(([key, entry]) => [key, entry.digest])
        .sort()
    )
  if (digests(result.accepting) === digests(result.baseline)) return null
  return serializeBaseline(result.accepting)
}
