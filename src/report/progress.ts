/**
 * Progress as lines of text: one per phase, and while images are resolved, how many are done
 * at most every few seconds, so a slow or silent registry is never a silent step.
 */
import type { Progress } from '../pipeline/run.js'
import { counted } from '../words.js'

/**
 * Lines for `write`, resolving counted at most once per `everyMs` (the last one always); each
 * image resolved for `detail` (the log's debug lines).
 */
export function progressLines(
  write: (line: string) => void,
  {
    everyMs = 5_000,
    clock = () => performance.now(),
    detail = () => undefined
  }: { everyMs?: number; clock?: () => number; detail?: (line: string) => void } = {}
): (event: Progress) => void {
  let said = clock()
  return event => {
    if (event.phase === 'resolving') detail(`resolved ${event.image}`)
    if (event.phase === 'scanned') {
      write(
        `Scanned ${counted(event.files, 'file')}: ${counted(event.references, 'image reference')}, ${counted(event.images, 'distinct image')}`
      )
      said = clock()
    } else if (event.phase === 'resolving') {
      const last = event.done === event.total
      if (!last && clock() - said < everyMs) return
      write(`Resolved ${event.done} of ${counted(event.total, 'image')}${last ? '' : '…'}`)
      said = clock()
    } else write(`Explaining what changed in ${counted(event.images, 'drifted image')}…`)
  }
}
