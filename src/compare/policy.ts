import type { Reaction } from '../config/defaults.js'
import type { Finding } from './compare.js'
import { counted } from '../words.js'

export interface Policy {
  onDrift: Reaction
  onError: Reaction
  accept: boolean
}

export interface Verdict {
  /** Why the job fails; empty when it passes. */
  failures: string[]
  drifted: number
  errors: number
  /** Whether this run's baseline may replace the stored one. */
  save: boolean
  /** Why a passing run keeps the stored baseline. */
  keptBecause?: string
}

/** What the findings do to the job, and whether the baseline is saved. */
export function decide(findings: Finding[], policy: Policy): Verdict {
  const drifted = findings.filter(f => f.status === 'drifted').length
  const errors = findings.filter(f => f.status === 'error').length
  const failures: string[] = []
  if (drifted > 0 && !policy.accept && policy.onDrift === 'fail') {
    failures.push(
      `${counted(drifted, 'image')} changed under ${drifted === 1 ? 'its tag' : 'their tags'} since the last successful build`
    )
  }
  if (errors > 0 && policy.onError === 'fail') {
    failures.push(
      `${counted(errors, 'image reference')} could not be scanned or resolved (on-error: fail)`
    )
  }
  return { failures, drifted, errors, save: failures.length === 0 }
}
