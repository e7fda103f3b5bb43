/**
 * What changed inside a drifted image, in words: one summary line, Markdown and terminal forms.
 */
import { DATABASES, type PackageList } from '../explain/databases.js'
import type { PackageDiff } from '../explain/packages.js'
import {
  isVersionVariable,
  type Change,
  type Explanation,
  type Unexplained
} from '../explain/diff.js'
import { counted } from '../words.js'
import { mdCode, mdText } from './markdown-escape.js'

const SEVERITY_NOTE: Record<Explanation['severity'], string> = {
  os: 'the base OS release changed: the most severe kind of drift',
  removed: 'packages were removed: whatever needs them breaks',
  major: 'a runtime or package changed its major version (a runtime also its minor)',
  rebuild: 'a rebuild: no OS release change, no package removed, no major version change'
}

/** Where a package list was read from, as the report says it. */
function packageSource(from: PackageList['from']): string {
  return from === 'sbom'
    ? "the image's SBOM"
    : (DATABASES.find(d => d.name === from)?.description ?? from)
}
/** Package rows shown before the rest are folded away. */
const PACKAGE_ROWS = 10
/** Package rows shown at all: past these a count, so 60k changes never make a summary GitHub drops. */
const PACKAGE_ROWS_SHOWN = 200

/** The one line a reviewer reads first: `Debian bullseye → bookworm; PYTHON_VERSION 3.12.2 → 3.12.3`. */
export function explanationSummary(e: Explanation): string {
  const parts: string[] = []
  if (e.os.before !== e.os.after) parts.push(osChange(e.os.before, e.os.after))
  const packages = e.packages && 'diff' in e.packages ? e.packages.diff : null
  if (packages && packages.removed.length > 0) {
    const names = packages.removed.slice(0, 3).map(p => p.name)
    parts.push(
      `${counted(packages.removed.length, 'package')} removed (${names.join(', ')}${packages.removed.length > 3 ? ', …' : ''})`
    )
  }
  for (const c of e.env.filter(c => isVersionVariable(c.name))) parts.push(describe(c))
  const majors = packages?.changed.filter(c => c.major) ?? []
  if (majors.length > 0)
    parts.push(
      `${counted(majors.length, 'major package upgrade')} (${majors
        .slice(0, 3)
        .map(c => `${c.name} ${c.before} → ${c.after}`)
        .join(', ')}${majors.length > 3 ? ', …' : ''})`
    )
  const others =
    e.env.filter(c => !isVersionVariable(c.name)).length + e.labels.length + e.annotations.length
  if (others > 0) parts.push(counted(others, 'other config change'))
  const { before, after } = e.layers
  const [sizeBefore, sizeAfter] = [formatSize(before.size), formatSize(after.size)]
  // sizes that print the same are no news, whatever bytes a rebuild's timestamps moved
  if (before.count !== after.count || sizeBefore !== sizeAfter)
    parts.push(`layers ${before.count} → ${after.count} (${sizeBefore} → ${sizeAfter})`)
  if (parts.length === 0)
    parts.push(
      e.created.before !== e.created.after
        ? `rebuilt ${e.created.after ?? ''}`.trim()
        : 'rebuilt, nothing else in the config changed'
    )
  return parts.join('; ')
}

/** `NAME before → after`, `+NAME=value`, `-NAME=value`. */
export function describe(change: Change): string {
  if (change.before === undefined) return `+${change.name}=${change.after}`
  if (change.after === undefined) return `-${change.name}=${change.before}`
  return `${change.name} ${change.before} → ${change.after}`
}

function osChange(before: string | null, after: string | null): string {
  if (before && after) {
    const [bName, ...bRest] = before.split(' ')
    const [aName, ...aRest] = after.split(' ')
    if (bName === aName) return `${bName} ${bRest.join(' ')} → ${aRest.join(' ')}`
  }
  return `base OS ${before ?? 'unknown'} → ${after ?? 'unknown'}`
}

export function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`
}

/** Markdown for one explanation: the summary line, a before/after table, the config changes. */
export function explanationMarkdown(explanation: Explanation | Unexplained): string[] {
  if ('unavailable' in explanation)
    return [`_What changed is not known: ${mdText(explanation.unavailable)}._`]
  const e = explanation
  const lines = [
    `**${mdText(explanationSummary(e))}** (${mdText(e.platform)}; ${SEVERITY_NOTE[e.severity]})`,
    '',
    '| | baseline | now |',
    '|---|---|---|'
  ]
  lines.push(`| created | ${mdText(e.created.before ?? '')} | ${mdText(e.created.after ?? '')} |`)
  lines.push(
    `| base OS | ${mdText(e.os.before ?? 'unknown')} | ${mdText(e.os.after ?? 'unknown')} |`
  )
  lines.push(`| layers | ${layers(e.layers.before)} | ${layers(e.layers.after)} |`)
  lines.push('')
  lines.push(...packagesMarkdown(e))
  const named: [string, Change[]][] = [
    ['Environment', e.env],
    ['Labels', e.labels],
    ['Annotations', e.annotations]
  ]
  for (const [title, changes] of named) {
    if (changes.length > 0)
      lines.push(`${title}: ${changes.map(c => mdCode(describe(c))).join(', ')}`, '')
  }
  return lines
}

/** Plain text for a terminal, indented under the drift it explains. */
export function explanationText(explanation: Explanation | Unexplained, indent: string): string[] {
  if ('unavailable' in explanation)
    return [`${indent}what changed is not known: ${explanation.unavailable}`]
  const e = explanation
  const lines = [`${indent}what changed (${e.platform}): ${explanationSummary(e)}`]
  if (e.severity !== 'rebuild') lines.push(`${indent}  ${SEVERITY_NOTE[e.severity]}`)
  lines.push(`${indent}  created ${e.created.before ?? '?'} → ${e.created.after ?? '?'}`)
  lines.push(`${indent}  layers ${layers(e.layers.before)} → ${layers(e.layers.after)}`)
  for (const change of [...e.env, ...e.labels, ...e.annotations])
    lines.push(`${indent}  ${describe(change)}`)
  if (e.packages && 'unavailable' in e.packages)
    lines.push(`${indent}  packages not compared: ${e.packages.unavailable}`)
  else if (e.packages)
    for (const row of packageRows(e.packages.diff))
      lines.push(`${indent}  ${row.name} ${row.before ?? '(none)'} → ${row.after ?? 'removed'}`)
  return lines
}

interface PackageRow {
  name: string
  before?: string
  after?: string
}

/** Removed (shared libraries first), major upgrades, added, then the other version changes. */
function packageRows(diff: PackageDiff): PackageRow[] {
  return [
    ...diff.removed.map(p => ({ name: p.name, before: p.version })),
    ...diff.changed.filter(c => c.major),
    ...diff.added.map(p => ({ name: p.name, after: p.version })),
    ...diff.changed.filter(c => !c.major)
  ]
}

/** The package diff as a table, the first rows shown and the rest folded. */
function packagesMarkdown(e: Explanation): string[] {
  if (!e.packages) return []
  if ('unavailable' in e.packages)
    return [`Packages not compared: ${mdText(e.packages.unavailable)}.`, '']
  const { diff, from } = e.packages
  const rows = packageRows(diff)
  if (rows.length === 0) return [`Packages (from ${packageSource(from)}): none changed.`, '']
  const table = (list: PackageRow[]) => [
    '| package | baseline | now |',
    '|---|---|---|',
    ...list.map(
      r =>
        `| ${mdCode(r.name, true)} | ${r.before ? mdCode(r.before, true) : 'not installed'} | ${r.after ? mdCode(r.after, true) : '**removed**'} |`
    )
  ]
  const lines = [
    `Packages (from ${packageSource(from)}): ${diff.removed.length} removed, ${diff.added.length} added, ${diff.changed.length} changed version.`,
    '',
    ...table(rows.slice(0, PACKAGE_ROWS)),
    ''
  ]
  if (rows.length > PACKAGE_ROWS) {
    const hidden = rows.length - PACKAGE_ROWS_SHOWN
    lines.push(
      `<details><summary>${counted(rows.length - PACKAGE_ROWS, 'more package change')}</summary>`,
      '',
      ...table(rows.slice(PACKAGE_ROWS, PACKAGE_ROWS_SHOWN)),
      '',
      ...(hidden > 0
        ? [`…and ${counted(hidden, 'more package change')}, not listed here.`, '']
        : []),
      '</details>',
      ''
    )
  }
  return lines
}

function layers(value: { count: number; size: number }): string {
  return `${value.count} (${formatSize(value.size)})`
}
