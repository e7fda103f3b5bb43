/**
 * The remedy: each reference's line pinned to the known-good digest, in its own file's form.
 */
import type { ImageReference } from '../reference/reference.js'
import { kindSpec } from '../sources/index.js'
import type { FoundReference } from '../sources/read/source.js'

/**
 * The line to paste to keep the known-good image: the line as written (variables and all),
 * its image pinned to the baseline digest, in the form its source writes it.
 */
export function pinLine(
  finding: { reference: FoundReference; parsed: ImageReference },
  digest: string
): string {
  return kindSpec(finding.reference).pin({ ...finding.reference, image: finding.parsed }, digest)
}

/** The language to fence a pin line of this reference in. */
export function pinFence(finding: { reference: FoundReference }): string {
  return kindSpec(finding.reference).fence
}
