/**
 * `scan` and `resolve` output: tables for a terminal and the JSON forms.
 */
import { formatReference } from '../reference/reference.js'
import { resolutionKey, type Resolution } from '../resolve/resolve.js'
import type { FoundReference } from '../sources/read/source.js'
import { formatTable } from './table.js'
import { counted } from '../words.js'

/** The `scan --json` form of one reference. */
export function referenceJson(reference: FoundReference) {
  const { file, line, column, kind, source, stage, platform, error } = reference
  return {
    file,
    line,
    column,
    kind,
    source,
    ...(reference.image ? { image: formatReference(reference.image) } : {}),
    stage: stage ?? null,
    platform: platform ?? null,
    error,
    ...(reference.builtBy ? { builtBy: reference.builtBy } : {})
  }
}

/** `resolve --json`: a reference with where it points now. */
export function resolvedJson(reference: FoundReference, resolution: Resolution | undefined) {
  return {
    ...referenceJson(reference),
    digest: resolution && 'digest' in resolution ? resolution.digest : null,
    ...(resolution && 'platforms' in resolution ? { platforms: resolution.platforms } : {}),
    error:
      reference.error ?? (resolution && 'failure' in resolution ? resolution.failure.message : null)
  }
}

/** `sha256:0123456789ab`: enough of a digest to tell two apart in a table. */
export function shortDigest(digest: string | undefined | null): string {
  return digest ? digest.slice(0, 19) : ''
}

/** The `scan` table: file:line, kind, image, stage, platform; errors last. */
export function formatScanText(references: FoundReference[], width = Infinity): string {
  return formatReferences(
    width,
    references,
    ['FILE:LINE', 'KIND', 'IMAGE', 'STAGE', 'PLATFORM'],
    r => [r.stage ?? '', r.platform ?? ''],
    r => r.error
  )
}

/** The `resolve` table: file:line, kind, image, digest now; errors last. */
export function formatResolveText(
  references: FoundReference[],
  resolutions: Map<string, Resolution>,
  width = Infinity
): string {
  const resolution = (r: FoundReference) =>
    r.image ? resolutions.get(resolutionKey(r.image)) : undefined
  return formatReferences(
    width,
    references,
    ['FILE:LINE', 'KIND', 'IMAGE', 'DIGEST', 'PLATFORMS'],
    r => {
      const found = resolution(r)
      if (!found || 'failure' in found) return ['', '']
      const platforms = Object.entries(found.platforms ?? {}).map(
        ([p, d]) => `${p}=${shortDigest(d)}`
      )
      return [shortDigest(found.digest), platforms.join(' ')]
    },
    r => {
      const found = resolution(r)
      return r.error ?? (found && 'failure' in found ? found.failure.message : null)
    }
  )
}

function formatReferences(
  width: number,
  references: FoundReference[],
  header: string[],
  extra: (r: FoundReference) => string[],
  errorOf: (r: FoundReference) => string | null | undefined
): string {
  const ok = references.filter(r => !errorOf(r))
  const failed = references.filter(r => errorOf(r))
  const rows = ok.map(r => [
    `${r.file}:${r.line}`,
    r.kind,
    r.image ? formatReference(r.image) : r.source,
    ...extra(r)
  ])
  const parts = [formatTable(header, rows, width)]
  if (failed.length > 0) {
    parts.push('', `${counted(failed.length, 'reference')} could not be determined:`)
    for (const r of failed)
      parts.push(`  ${r.file}:${r.line}  ${r.kind}  ${r.source}\n    error: ${errorOf(r)}`)
  }
  parts.push('', `${counted(references.length, 'image reference')} (${failed.length} with errors)`)
  return parts.join('\n') + '\n'
}
