/**
 * Shared words and data forms of findings: labels, order of importance, digests, the JSON outputs.
 */
import { SEVERITIES } from '../explain/diff.js'
import type { DriftedFinding, Finding, FindingError } from '../compare/compare.js'
import type { PackageUse } from '../sources/read/source.js'
import { formatReference } from '../reference/reference.js'
import type { ExplainResult } from '../explain/read.js'
import { explanationSummary } from './explanation-text.js'
import { shortDigest } from './scan-output.js'
import { counted } from '../words.js'
import { isUnchecked } from '../decide/policy.js'

/** Drifted first, then errors, stale pins, new, index churn, pinned, unchanged. */
const ORDER = ['drifted', 'error', 'stale', 'new', 'index-churn', 'pinned', 'unchanged']

export type Explanations = ReadonlyMap<string, ExplainResult>

export function findingLabel(finding: Finding): string {
  return finding.status === 'pinned' && finding.stale ? 'stale' : finding.status
}

/** The label with why, where there is one: `index-churn (only attestations … changed)`. */
export function findingLabelWithReason(finding: Finding): string {
  return finding.status === 'index-churn'
    ? `index-churn (${finding.reason})`
    : findingLabel(finding)
}

/**
 * How many images were compared with the baseline and how many it did not have (new): a
 * headline says both, so "no drift" never hides an image nobody compared.
 */
export function comparedTally(findings: Finding[]): { compared: number; fresh: number } {
  const images = (statuses: string[]) =>
    new Set(findings.filter(f => statuses.includes(f.status)).map(f => f.image)).size
  return { compared: images(['unchanged', 'drifted', 'index-churn']), fresh: images(['new']) }
}

export function byImportance(explanations: Explanations): (a: Finding, b: Finding) => number {
  const rank = (finding: Finding) => {
    const explanation = finding.image ? explanations.get(finding.image) : undefined
    return explanation && 'severity' in explanation
      ? SEVERITIES.indexOf(explanation.severity)
      : SEVERITIES.length
  }
  return (a, b) =>
    ORDER.indexOf(findingLabel(a)) - ORDER.indexOf(findingLabel(b)) || rank(a) - rank(b)
}

/** The one line that says what changed, or why it is not known. */
export function changeSummary(explanation: ExplainResult | undefined): string | null {
  if (!explanation) return null
  return 'unavailable' in explanation ? explanation.unavailable : explanationSummary(explanation)
}

/** "libssl1.1 is not in python:3.12-slim any more (Debian bookworm); this line installs it" */
export function useSentence(
  use: PackageUse,
  finding: DriftedFinding,
  explanation: ExplainResult | undefined
): string {
  const os = explanation && 'os' in explanation ? explanation.os.after : null
  const does = {
    installs: 'this line installs it',
    uses: 'this line uses it',
    copies: 'this line copies its shared library'
  }[use.does]
  return `${use.package} is not in ${finding.image} any more${os ? ` (${os})` : ''}; ${does}`
}

/** `python:3.12-slim-bullseye`: the reference on a tag that stays on the old OS release. */
export function stayOnRelease(
  finding: DriftedFinding,
  explanation: ExplainResult | undefined
): { reference: string; release: string; digest: string } | null {
  if (!explanation || !('oldRelease' in explanation) || !explanation.oldRelease) return null
  const { tag, release, digest } = explanation.oldRelease
  return {
    reference: formatReference({ ...finding.parsed, tag, digest: undefined }),
    release,
    digest
  }
}

/** A GitHub compare link between the old and new image's source revisions, when the labels give both. */
export function sourceCompareUrl(explanation: ExplainResult | undefined): string | null {
  const source = explanation && 'source' in explanation ? explanation.source : undefined
  if (!source?.before || !source.after || source.before === source.after) return null
  const repo = /^https:\/\/github\.com\/([\w.-]+\/[\w.-]+?)(?:\.git)?\/?$/.exec(source.url)?.[1]
  const revision = /^[0-9a-f]{7,40}$/
  if (!repo || !revision.test(source.before) || !revision.test(source.after)) return null
  return `https://github.com/${repo}/compare/${source.before}...${source.after}`
}

/** A title that says what to do about an error: log in, the tag is gone, wait, the registry is down. */
export function errorTitle(error: FindingError): string {
  if (error.kind === 'scan') return `not scanned: ${causeOf(error)}`
  // a failing registry is one of the causes a title names; a headline says "unreachable"
  const failing = ['network', 'timeout', 'server'].includes(error.kind) ? ' or failing' : ''
  return `${causeOf(error)}${failing}: image not checked`
}

/** Why an image could not be checked, in a few words for a headline. */
function causeOf(error: FindingError): string {
  switch (error.kind) {
    case 'scan':
      return 'the image cannot be determined from the file'
    case 'unauthorized':
      return `refused by ${error.registry ?? 'the registry'} (no such repository, or log in)`
    case 'credentials':
      return `credentials for ${error.registry ?? 'the registry'} unusable`
    case 'not-found':
      return 'no such tag or repository'
    case 'rate-limited':
      return `${error.registry ?? 'the registry'} is rate limiting`
    case 'network':
    case 'timeout':
    case 'server':
      return `${error.registry ?? 'the registry'} unreachable`
    default:
      return `${error.registry ?? 'the registry'} gave an unusable answer`
  }
}

/**
 * "Could not check 2 of 3 images: registry unreachable": what leads a report where some image
 * was not checked, so that no headline says "no drift" over what nobody saw. Null when every
 * image was checked.
 */
export function uncheckedHeadline(findings: Finding[]): string | null {
  const errors = findings.flatMap(f => (f.status === 'error' && isUnchecked(f) ? [f] : []))
  if (errors.length === 0) return null
  const images = new Set(findings.map(f => f.image ?? f.reference.source)).size
  const unchecked = new Set(errors.map(f => f.image ?? f.reference.source)).size
  const causes = [...new Set(errors.map(f => causeOf(f.error)))]
  const cause = causes.length === 1 ? causes[0] : `${causes.length} causes, listed below`
  return `Could not check ${unchecked} of ${counted(images, 'image')}: ${cause}`
}

/** `sha256:aaaa… → sha256:bbbb…`, or one side, as the finding allows. */
export function digestChange(finding: Finding): string {
  switch (finding.status) {
    case 'drifted':
    case 'index-churn':
      return `${shortDigest(finding.previous.digest)} → ${shortDigest(finding.current.digest)}`
    case 'error':
      return shortDigest(finding.previous?.digest)
    default:
      return shortDigest(finding.current.digest)
  }
}

/** Package changes listed per kind in the JSON outputs; past these, a count of the rest. */
const JSON_PACKAGES = 200

/** Each list of a package diff, bounded, with how many entries were left out. */
function boundedDiff<T extends { removed: unknown[]; added: unknown[]; changed: unknown[] }>(
  diff: T
) {
  const cut = (list: unknown[]) => list.slice(0, JSON_PACKAGES)
  const more = {
    removed: Math.max(0, diff.removed.length - JSON_PACKAGES),
    added: Math.max(0, diff.added.length - JSON_PACKAGES),
    changed: Math.max(0, diff.changed.length - JSON_PACKAGES)
  }
  const cutAny = more.removed + more.added + more.changed > 0
  return {
    ...diff,
    removed: cut(diff.removed),
    added: cut(diff.added),
    changed: cut(diff.changed),
    ...(cutAny ? { notListed: more } : {})
  }
}

/** The data form of a finding, for the `images` and `changes` outputs and `check --json`. */
export function findingJson(finding: Finding, explanations: Explanations) {
  const { reference } = finding
  const previous = 'previous' in finding ? finding.previous : undefined
  const current = 'current' in finding ? finding.current : undefined
  const explanation = finding.image ? explanations.get(finding.image) : undefined
  return {
    file: reference.file,
    line: reference.line,
    column: reference.column,
    kind: reference.kind,
    image: finding.image,
    ...(reference.builtBy ? { builtBy: reference.builtBy } : {}),
    status: finding.status,
    ...(finding.status === 'pinned' ? { stale: finding.stale } : {}),
    ...(finding.status === 'index-churn' ? { reason: finding.reason } : {}),
    previous: previous?.digest ?? null,
    digest: current?.digest ?? null,
    // tracked platform digests live only in baselines of older versions
    ...(previous?.platforms ? { platforms: { previous: previous.platforms, current: null } } : {}),
    ...(finding.status === 'drifted' && finding.changedPlatforms
      ? { changedPlatforms: finding.changedPlatforms }
      : {}),
    ...(finding.status === 'drifted' && finding.packageUses?.length
      ? { packageUses: finding.packageUses }
      : {}),
    ...(finding.status === 'drifted' && explanation
      ? {
          explanation:
            'unavailable' in explanation
              ? explanation
              : {
                  ...explanation,
                  ...(explanation.packages && 'diff' in explanation.packages
                    ? {
                        packages: {
                          ...explanation.packages,
                          diff: boundedDiff(explanation.packages.diff)
                        }
                      }
                    : {}),
                  summary: explanationSummary(explanation)
                }
        }
      : {}),
    error: finding.status === 'error' ? finding.error.message : null,
    ...(finding.status === 'error' ? { errorKind: finding.error.kind } : {})
  }
}
