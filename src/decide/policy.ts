/**
 * Decide: what the findings do to the job (fail-on, on-drift, on-error, accept) and whether to save. Pure.
 */
import type { ErrorReaction, Reaction } from '../config/defaults.js'
import type { Severity } from '../explain/diff.js'
import type { ExplainResult } from '../explain/read.js'
import { accepts, type Acceptance } from '../compare/accept.js'
import type { Finding } from '../compare/compare.js'
import { counted } from '../words.js'

export interface Policy {
  onDrift: Reaction
  onError: ErrorReaction
  /** Drift recorded as accepted: all, none, or the images listed. */
  accept: Acceptance
  /** Severities of drift that fail the job; the others warn. A drift not explained always fails. */
  failOn: readonly Severity[]
}

/** The policy part of a front end's options (the action's inputs, the CLI's flags). */
export function policyOf({ onDrift, onError, accept, failOn }: Policy): Policy {
  return { onDrift, onError, accept, failOn }
}

/** What one finding does to the job: it fails it, warns, was accepted, or only informs. */
export type Outcome = 'fails' | 'warns' | 'accepted' | 'informational'

export interface Verdict {
  /** Each finding's outcome, decided here once: reports, annotations and SARIF read it. */
  outcomes: ReadonlyMap<Finding, Outcome>
  /** Why the job fails; empty when it passes. */
  failures: string[]
  drifted: number
  errors: number
  /** Images that could not be checked (scanned, resolved), of all the images found. */
  unchecked: number
  images: number
  /** No image could be checked: the run saw nothing, whatever it was asked. */
  blind: boolean
  /** Whether this run's baseline may replace the stored one. */
  save: boolean
  /** Why a passing run keeps the stored baseline. */
  keptBecause?: string
}

/** What the findings do to the job, and whether the baseline is saved. */
export function decide(
  findings: Finding[],
  policy: Policy,
  explanations: ReadonlyMap<string, ExplainResult> = new Map(),
  /** What the scan found, and how many images the baseline held. */
  scan: { referencesFound: number; recorded: number } = { referencesFound: 1, recorded: 0 }
): Verdict {
  const drifts = findings.flatMap(f => (f.status === 'drifted' ? [f] : []))
  const drifted = drifts.length
  const errors = findings.filter(f => f.status === 'error').length
  const images = new Set(findings.map(imageOf)).size
  const checked = new Set(findings.filter(f => !isUnchecked(f)).map(imageOf))
  const unchecked = new Set(findings.filter(isUnchecked).map(imageOf)).size
  const blind = unchecked > 0 && checked.size === 0
  const errorsFail = policy.onError === 'fail' || (policy.onError === 'auto' && blind)
  const failures: string[] = []
  const unaccepted = drifts.filter(f => !accepts(policy.accept, f.image))
  const failing = unaccepted.filter(f => failsOn(explanations.get(f.image), policy.failOn)).length
  if (failing > 0 && policy.onDrift === 'fail') {
    const warnOnly = unaccepted.length - failing
    failures.push(
      `${counted(failing, 'image')} changed under ${failing === 1 ? 'its tag' : 'their tags'} since the last successful build${warnOnly > 0 ? ` (${warnOnly} more of a severity that only warns: fail-on ${policy.failOn.join(',')})` : ''}`
    )
  }
  if (errors > 0 && errorsFail)
    failures.push(
      policy.onError === 'fail'
        ? `${counted(errors, 'image reference')} could not be scanned or resolved (on-error: fail)`
        : `no image could be checked: all ${counted(errors, 'image reference')} failed to scan or resolve (on-error: auto fails a run that checked nothing; on-error: warn only warns)`
    )
  const outcomes = new Map<Finding, Outcome>()
  for (const finding of findings)
    outcomes.set(finding, outcomeOf(finding, policy, explanations, errorsFail))
  const base = { outcomes, failures, drifted, errors, unchecked, images, blind }
  if (failures.length === 0 && scan.recorded > 0 && scan.referencesFound === 0)
    // never overwrite a baseline with a worse one: an empty scan is more likely a wrong `files` than no images
    return {
      ...base,
      save: false,
      keptBecause: `no image references were found, so the baseline of ${counted(scan.recorded, 'image')} was kept; check the files input`
    }
  if (blind)
    return {
      ...base,
      save: false,
      keptBecause: `no image could be checked, so nothing was recorded${scan.recorded > 0 ? `; the baseline of ${counted(scan.recorded, 'image')} was kept` : ''}`
    }
  return { ...base, save: failures.length === 0 }
}

/**
 * An image nobody could check: an error, unless the line pins a digest, which builds the
 * same image whatever the registry says (only whether its tag moved on is not known).
 */
export function isUnchecked(finding: Finding): boolean {
  return finding.status === 'error' && finding.reference.image?.digest === undefined
}

/** The image a finding is about: its reference, or the text when it could not be read. */
function imageOf(finding: Finding): string {
  return finding.image ?? finding.reference.source
}

function outcomeOf(
  finding: Finding,
  policy: Policy,
  explanations: ReadonlyMap<string, ExplainResult>,
  errorsFail: boolean
): Outcome {
  if (finding.status === 'drifted') {
    if (accepts(policy.accept, finding.image)) return 'accepted'
    return policy.onDrift === 'fail' && failsOn(explanations.get(finding.image), policy.failOn)
      ? 'fails'
      : 'warns'
  }
  if (finding.status === 'error') return errorsFail ? 'fails' : 'warns'
  return 'informational'
}

/** Whether a drift fails under `fail-on`: by its severity, and always when it could not be explained. */
export function failsOn(
  explanation: ExplainResult | undefined,
  failOn: readonly Severity[]
): boolean {
  return !explanation || !('severity' in explanation) || failOn.includes(explanation.severity)
}
