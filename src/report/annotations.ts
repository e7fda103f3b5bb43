/**
 * Annotations for drift, errors and stale pins, most important first, within GitHub's limits.
 */
import type { Finding } from '../compare/compare.js'
import type { Verdict } from '../decide/policy.js'
import {
  byImportance,
  changeSummary,
  errorTitle,
  stayOnRelease,
  useSentence,
  type Explanations
} from './findings.js'
import { pinLine } from './remedy.js'

/** What an annotation is about, as a rule of code scanning calls it. */
export type AnnotationRule = 'drifted' | 'removed-package' | 'not-checked' | 'stale-pin'

export interface Annotation {
  rule: AnnotationRule
  /** The same for the same problem from run to run (the line may move): a code-scanning alert's identity. */
  identity: string
  level: 'error' | 'warning' | 'notice'
  file: string
  line: number
  column: number
  title: string
  message: string
}

/** GitHub shows at most this many annotations of each type per step. */
export const ANNOTATIONS_PER_TYPE = 10

/** Annotations for drift, errors and stale pins, most important first: every one (a check run, SARIF). */
export function annotationsFor(
  findings: Finding[],
  explanations: Explanations,
  verdict: Pick<Verdict, 'outcomes'>,
  acceptHint: string
): Annotation[] {
  const level = (finding: Finding): Annotation['level'] => {
    const outcome = verdict.outcomes.get(finding)
    return outcome === 'fails' ? 'error' : outcome === 'warns' ? 'warning' : 'notice'
  }
  const all: Annotation[] = []
  for (const finding of [...findings].sort(byImportance(explanations))) {
    const { reference } = finding
    const at = { file: reference.file, line: reference.line, column: reference.column }
    if (finding.status === 'drifted') {
      const explanation = explanations.get(finding.image)
      const accepted = verdict.outcomes.get(finding) === 'accepted'
      const stay = stayOnRelease(finding, explanation)
      const remedy = accepted
        ? [`Accepted: the new digest is recorded as the baseline.`]
        : [
            `Keep the known-good image: ${oneLine(pinLine(finding, finding.previous.digest))}`,
            stay && `or stay on ${stay.release} with ${stay.reference},`,
            `or accept the new one (${acceptHint}).`
          ]
      all.push({
        ...at,
        rule: 'drifted',
        identity: [reference.file, finding.image, finding.previous.digest].join('\0'),
        level: level(finding),
        title: `${finding.image} changed under its tag`,
        message: [
          changeSummary(explanation),
          `${finding.previous.digest} → ${finding.current.digest}.`,
          ...remedy
        ]
          .filter(Boolean)
          .join('\n')
      })
      for (const use of finding.packageUses ?? [])
        all.push({
          rule: 'removed-package',
          identity: [use.file, finding.image, use.package, use.does].join('\0'),
          file: use.file,
          line: use.line,
          column: use.column,
          level: level(finding),
          title: `${use.package} was removed from ${finding.image}`,
          message: useSentence(use, finding, explanation)
        })
    } else if (finding.status === 'error') {
      all.push({
        ...at,
        rule: 'not-checked',
        identity: [reference.file, finding.image ?? reference.source, finding.error.kind].join(
          '\0'
        ),
        level: level(finding),
        title: errorTitle(finding.error),
        message: finding.error.message
      })
    } else if (finding.status === 'pinned' && finding.stale) {
      all.push({
        ...at,
        rule: 'stale-pin',
        identity: [reference.file, finding.image].join('\0'),
        level: 'notice',
        title: `${finding.image} is pinned to a digest its tag has moved on from`,
        message: staleMessage(finding, explanations.get(finding.image))
      })
    }
  }
  return all
}

/**
 * A notice at each image the baseline did not have, which this run records without
 * comparison: what was recorded, and the line that pins it, so a change made on the way in
 * (a new tag rebuilt upstream before the merge) can be seen and undone.
 */
export function recordedNotices(findings: Finding[]): Omit<Annotation, 'rule' | 'identity'>[] {
  return findings.flatMap(f =>
    f.status === 'new'
      ? [
          {
            file: f.reference.file,
            line: f.reference.line,
            column: f.reference.column,
            level: 'notice' as const,
            title: `${f.image} recorded without comparison`,
            message: `Not in the baseline, so recorded as it is now: ${f.current.digest}. To keep exactly this image: ${oneLine(pinLine(f, f.current.digest))}`
          }
        ]
      : []
  )
}

/** The annotations a step may print: GitHub shows at most `limit` of each type. */
export function withinLimits<T extends Pick<Annotation, 'level'>>(
  all: T[],
  limit = ANNOTATIONS_PER_TYPE
): { annotations: T[]; omitted: number } {
  const shown: T[] = []
  const perType = new Map<string, number>()
  for (const annotation of all) {
    const count = perType.get(annotation.level) ?? 0
    if (count >= limit) continue
    perType.set(annotation.level, count + 1)
    shown.push(annotation)
  }
  return { annotations: shown, omitted: all.length - shown.length }
}

/** Where a stale pin's tag points now, what taking it would change, and the bumped line. */
function staleMessage(
  finding: Extract<Finding, { status: 'pinned' }>,
  explanation: ReturnType<Explanations['get']>
): string {
  if (!finding.tagDigest) return 'The tag now points at another digest.'
  const change = changeSummary(explanation)
  return [
    `The tag now points at ${finding.tagDigest}${change ? `, which changes: ${change}` : ''}.`,
    `To take it once checked: ${oneLine(pinLine(finding, finding.tagDigest))}`
  ].join('\n')
}

/** A pin of several lines (a Kustomize entry's tag and digest) on the one line a message has. */
function oneLine(pin: string): string {
  return pin.replaceAll('\n', ', ')
}
