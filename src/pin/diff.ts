/**
 * A unified diff of a file's pins, as `diff -u` and `git apply` read it: each pin's lines
 * before and after, with three lines of context, nearby pins in one hunk. Pure.
 */
import { pinnedLines } from './place.js'
import type { PinSite } from '../sources/read/pin-site.js'

const CONTEXT = 3

export function unifiedDiff(
  file: string,
  text: string,
  pins: readonly { site: PinSite; digest: string }[]
): string {
  const lines = text.split('\n').map(line => line.replace(/\r$/, ''))
  if (lines.at(-1) === '') lines.pop()
  const changes = [...pins]
    .sort((a, b) => a.site.line - b.site.line)
    .map(({ site, digest }) => ({
      from: site.line,
      to: site.endLine,
      after: pinnedLines(site, digest).split(/\r?\n/)
    }))
  // pins whose context would touch share a hunk
  const hunks: (typeof changes)[] = []
  let previous: (typeof changes)[number] | null = null
  for (const change of changes) {
    if (previous && change.from - previous.to <= 2 * CONTEXT + 1)
      hunks[hunks.length - 1].push(change)
    else hunks.push([change])
    previous = change
  }
  const out = [`--- a/${file}`, `+++ b/${file}`]
  // lines the hunks before added: where this one starts in the new file
  let shift = 0
  for (const hunk of hunks) {
    const start = Math.max(1, hunk[0].from - CONTEXT)
    const end = Math.min(lines.length, hunk[hunk.length - 1].to + CONTEXT)
    const body: string[] = []
    let line = start
    let added = 0
    for (const change of hunk) {
      for (; line < change.from; line++) body.push(` ${lines[line - 1]}`)
      for (; line <= change.to; line++) body.push(`-${lines[line - 1]}`)
      for (const after of change.after) body.push(`+${after}`)
      added += change.after.length - (change.to - change.from + 1)
    }
    for (; line <= end; line++) body.push(` ${lines[line - 1]}`)
    const count = end - start + 1
    out.push(`@@ -${start},${count} +${start + shift},${count + added} @@`, ...body)
    shift += added
  }
  return out.join('\n') + '\n'
}
