/**
 * The remedy: each reference's line pinned to the known-good digest, in its own file's form.
 */
import { pinnedLines } from '../pin/place.js'
import { formatReference, type ImageReference } from '../reference/reference.js'
import { kindSpec } from '../sources/index.js'
import { isPinSite, type PinPlace } from '../sources/read/pin-site.js'
import type { FoundReference } from '../sources/read/source.js'

/**
 * The line to paste to keep the known-good image: the line as written (quotes, variables and
 * all), its image pinned to the digest; where the image cannot be pinned on its line, the
 * pinned reference alone.
 */
export function pinLine(
  finding: { reference: FoundReference; parsed: ImageReference; pin?: PinPlace },
  digest: string
): string {
  if (finding.pin && isPinSite(finding.pin)) return dedent(pinnedLines(finding.pin, digest))
  return `${formatReference({ ...finding.parsed, digest: undefined })}@${digest}`
}

/** Why the line itself cannot be pinned, when it cannot. */
export function unpinnableWhy(finding: { pin?: PinPlace }): string | null {
  return finding.pin && !isPinSite(finding.pin) ? finding.pin.unpinnable : null
}

/** The language to fence a pin line of this reference in. */
export function pinFence(finding: { reference: FoundReference }): string {
  return kindSpec(finding.reference).fence
}

/** Lines without the indentation they share, line breaks as `\n`. */
function dedent(text: string): string {
  const lines = text.split(/\r?\n/)
  const indent = Math.min(...lines.map(line => /^[ \t]*/.exec(line)?.[0].length ?? 0))
  return lines.map(line => line.slice(indent).trimEnd()).join('\n')
}
