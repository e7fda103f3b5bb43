import type { Finding } from '../compare/compare.js'
import { shortDigest } from './scan-output.js'

/** Drifted first, then errors, stale pins, new, index churn, pinned, unchanged. */
const ORDER = ['drifted', 'error', 'stale', 'new', 'index-churn', 'pinned', 'unchanged']

export function findingLabel(finding: Finding): string {
  return finding.status === 'pinned' && finding.stale ? 'stale' : finding.status
}

const SEVERITY = ['os', 'runtime', 'other']

/** Most important first; among drift, the most severe change first (SPEC §7). */
export function byImportance(a: Finding, b: Finding): number {
  return (
    ORDER.indexOf(findingLabel(a)) - ORDER.indexOf(findingLabel(b)) ||
    severityRank(a) - severityRank(b)
  )
}

function severityRank(finding: Finding): number {
  const explanation = finding.explanation
  return explanation && 'severity' in explanation
    ? SEVERITY.indexOf(explanation.severity)
    : SEVERITY.length
}

/** The one line that says what changed, or why it is not known. */
export function changeSummary(finding: Finding): string | null {
  const explanation = finding.explanation
  if (!explanation) return null
  return 'summary' in explanation ? explanation.summary : explanation.unavailable
}

/** `sha256:aaaa… → sha256:bbbb…`, or one side, as the finding allows. */
export function digestChange(finding: Finding): string {
  const before = finding.previous?.digest
  const now = finding.current?.digest
  if (finding.status === 'drifted' || finding.status === 'index-churn')
    return `${shortDigest(before)} → ${shortDigest(now)}`
  return shortDigest(now ?? before)
}

/** The data form of a finding, for the `images` and `changes` outputs and `check --json`. */
export function findingJson(finding: Finding) {
  const { reference } = finding
  return {
    file: reference.file,
    line: reference.line,
    column: reference.column,
    kind: reference.kind,
    image: finding.image,
    status: finding.status,
    ...(finding.stale !== undefined ? { stale: finding.stale } : {}),
    previous: finding.previous?.digest ?? null,
    digest: finding.current?.digest ?? null,
    ...(finding.previous?.platforms || finding.current?.platforms
      ? {
          platforms: {
            previous: finding.previous?.platforms ?? null,
            current: finding.current?.platforms ?? null
          }
        }
      : {}),
    ...(finding.changedPlatforms ? { changedPlatforms: finding.changedPlatforms } : {}),
    ...(finding.explanation ? { explanation: finding.explanation } : {}),
    error: finding.error ?? null
  }
}
