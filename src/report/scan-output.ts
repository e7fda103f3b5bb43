import { formatReference } from '../reference/reference.js'
import type { FoundReference, ScanResult } from '../scan/types.js'
import { formatTable } from './table.js'

/** SPEC §9's JSON form of one reference. */
export function referenceJson(reference: FoundReference) {
  const { file, line, column, kind, source, stage, platform, error } = reference
  return {
    file,
    line,
    column,
    kind,
    source,
    ...(reference.image ? { image: formatReference(reference.image) } : {}),
    stage,
    platform,
    error
  }
}

/** The `scan` table: file:line, kind, image, stage, platform; errors last. */
export function formatScanText(result: ScanResult): string {
  const ok = result.references.filter(r => r.error === null)
  const failed = result.references.filter(r => r.error !== null)
  const rows = ok.map(r => [
    `${r.file}:${r.line}`,
    r.kind,
    formatReference(r.image!),
    r.stage ?? '',
    r.platform ?? ''
  ])
  const parts = [formatTable(['FILE:LINE', 'KIND', 'IMAGE', 'STAGE', 'PLATFORM'], rows)]
  if (failed.length > 0) {
    parts.push(
      '',
      `${failed.length} reference${failed.length === 1 ? '' : 's'} could not be determined:`
    )
    for (const r of failed)
      parts.push(`  ${r.file}:${r.line}  ${r.kind}  ${r.source}\n    error: ${r.error}`)
  }
  parts.push(
    '',
    `${result.references.length} image reference${result.references.length === 1 ? '' : 's'} (${failed.length} with errors)`
  )
  return parts.join('\n') + '\n'
}
