/**
 * A unified diff of a file's pins, as `diff -u` prints it: each changed line before and after,
 * with three lines of context, nearby pins in one hunk, line endings shown as `\n` (`git
 * apply --ignore-whitespace` takes it for a CRLF file). Pure.
 */
import { applyPins } from './place.js'
import type { PinSite } from '../sources/read/pin-site.js'

const CONTEXT = 3

type Pin = { site: PinSite; digest: string }

export function unifiedDiff(file: string, text: string, pins: readonly Pin[]): string {
  const lines = text.split('\n').map(line => line.replace(/\r$/, ''))
  if (lines.at(-1) === '') lines.pop()
  const changes = changedLines(text, pins)
  // changes whose context would touch share a hunk
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

/** The lines the pins change, in order, pins on the same lines as one change: the lines from `from` to `to` become `after`. */
function changedLines(
  text: string,
  pins: readonly Pin[]
): { from: number; to: number; after: string[] }[] {
  const sorted = [...pins].sort((a, b) => a.site.start - b.site.start)
  const groups: { pins: Pin[]; to: number; end: number }[] = []
  for (const pin of sorted) {
    const last = groups.at(-1)
    const end = pin.site.linesStart + pin.site.lines.length
    if (last && pin.site.line <= last.to) {
      last.pins.push(pin)
      last.to = Math.max(last.to, pin.site.endLine)
      last.end = Math.max(last.end, end)
    } else groups.push({ pins: [pin], to: pin.site.endLine, end })
  }
  return groups.map(({ pins: group, to, end }) => {
    const base = group[0].site.linesStart
    const shifted = group.map(({ site, digest }) => ({
      site: { ...site, start: site.start - base, end: site.end - base },
      digest
    }))
    return {
      from: group[0].site.line,
      to,
      after: applyPins(text.slice(base, end), shifted).split(/\r?\n/)
    }
  })
}
