/**
 * GitHub's limits on what a step writes: a job summary over 1 MiB is dropped whole, and so
 * are outputs past their size. Everything the action writes goes through these, cut at a
 * line or an element and saying what was left out.
 */

/** Under GitHub's 1 MiB for a step's summary and for an output, with room for the rest. */
export const STEP_TEXT_BYTES = 1000 * 1024

/** Text cut at the last whole line under `limit` bytes, with a line saying how much was left out. */
export function withinBytes(text: string, limit = STEP_TEXT_BYTES): string {
  if (Buffer.byteLength(text) <= limit) return text
  const note = (left: number) =>
    `\n\n…${Math.ceil(left / 1024)} KiB more not shown: GitHub drops a job summary or output over 1 MiB.\n`
  let cut = Buffer.from(text)
    .subarray(0, limit - 256)
    .toString('utf8')
  cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')))
  return cut + note(Buffer.byteLength(text) - Buffer.byteLength(cut))
}

/** A JSON array of as many leading items as fit under `limit` bytes; how many were left out. */
export function jsonWithinBytes(
  items: readonly unknown[],
  limit = STEP_TEXT_BYTES
): { json: string; omitted: number } {
  const parts = items.map(item => JSON.stringify(item))
  let size = 2
  let kept = 0
  while (kept < parts.length && size + Buffer.byteLength(parts[kept]) + 1 <= limit)
    size += Buffer.byteLength(parts[kept++]) + 1
  return { json: `[${parts.slice(0, kept).join(',')}]`, omitted: parts.length - kept }
}
