import {
  describe,
  formatSize,
  type Change,
  type Explanation,
  type Unexplained
} from '../explain/diff.js'

const SEVERITY_NOTE: Record<Explanation['severity'], string> = {
  os: 'the base OS release changed: the most severe kind of drift',
  runtime: 'a language runtime changed its major or minor version',
  other: 'no OS or runtime version change'
}

/** Markdown for one explanation: the summary line, a before/after table, the config changes. */
export function explanationMarkdown(explanation: Explanation | Unexplained): string[] {
  if ('unavailable' in explanation)
    return [`_What changed is not known: ${explanation.unavailable}._`]
  const e = explanation
  const lines = [
    `**${e.summary}** (${e.platform}; ${SEVERITY_NOTE[e.severity]})`,
    '',
    '| | baseline | now |',
    '|---|---|---|'
  ]
  lines.push(`| created | ${e.created.before ?? ''} | ${e.created.after ?? ''} |`)
  lines.push(`| base OS | ${e.os.before ?? 'unknown'} | ${e.os.after ?? 'unknown'} |`)
  lines.push(`| layers | ${layers(e.layers.before)} | ${layers(e.layers.after)} |`)
  lines.push('')
  for (const [title, changes] of [
    ['Environment', e.env],
    ['Labels', e.labels],
    ['Annotations', e.annotations]
  ] as [string, Change[]][]) {
    if (changes.length > 0)
      lines.push(`${title}: ${changes.map(c => `\`${describe(c)}\``).join(', ')}`, '')
  }
  return lines
}

/** Plain text for a terminal, indented under the drift it explains. */
export function explanationText(explanation: Explanation | Unexplained, indent: string): string[] {
  if ('unavailable' in explanation)
    return [`${indent}what changed is not known: ${explanation.unavailable}`]
  const e = explanation
  const lines = [`${indent}what changed (${e.platform}): ${e.summary}`]
  if (e.severity !== 'other') lines.push(`${indent}  ${SEVERITY_NOTE[e.severity]}`)
  lines.push(`${indent}  created ${e.created.before ?? '?'} → ${e.created.after ?? '?'}`)
  lines.push(`${indent}  layers ${layers(e.layers.before)} → ${layers(e.layers.after)}`)
  for (const change of [...e.env, ...e.labels, ...e.annotations])
    lines.push(`${indent}  ${describe(change)}`)
  return lines
}

function layers(value: { count: number; size: number }): string {
  return `${value.count} (${formatSize(value.size)})`
}
