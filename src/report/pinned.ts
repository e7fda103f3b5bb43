/**
 * What `write-pins` did, for the job summary: the files rewritten for the commit step, their
 * diff, and the references left as they were with why. Pure.
 */
import { formatReference } from '../reference/reference.js'
import type { PinOutcome } from '../pipeline/pin.js'
import { counted } from '../words.js'
import { mdCode, mdFence, mdText } from './markdown-escape.js'

/** The diff shown in the summary at most: the files themselves are the whole change. */
const SHOWN_DIFF_LINES = 200

export function pinnedSection(outcome: PinOutcome): string {
  const pinned = outcome.results.filter(r => r.status === 'pinned').length
  const unpinnable = outcome.results.flatMap(r => (r.status === 'unpinnable' ? [r] : []))
  const diff = outcome.changed.flatMap(c => c.diff.trimEnd().split('\n'))
  const shown = diff.slice(0, SHOWN_DIFF_LINES)
  const fence = mdFence(shown)
  return [
    '',
    '### Pinned for the commit step',
    '',
    pinned === 0
      ? 'No reference was rewritten.'
      : `${counted(pinned, 'reference')} rewritten to \`tag@digest\` in ${counted(outcome.changed.length, 'file')}: ${outcome.changed.map(c => mdCode(c.file)).join(', ')}.`,
    ...(diff.length > 0
      ? ['', `${fence}diff`, ...shown, ...(diff.length > SHOWN_DIFF_LINES ? ['…'] : []), fence]
      : []),
    ...(unpinnable.length > 0 ? ['', 'Left as written:', ''] : []),
    ...unpinnable.map(
      r =>
        `- ${mdCode(`${r.reference.file}:${r.reference.line}`)} ${mdCode(r.reference.image ? formatReference(r.reference.image) : r.reference.source)}: ${mdText(r.why)}`
    )
  ].join('\n')
}
