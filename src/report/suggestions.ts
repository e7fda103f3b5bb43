/**
 * The pull request's suggested changes: one per drifted line, rewriting it to its known-good
 * digest in the file's own form, for GitHub's "Commit suggestion". GitHub takes suggestions
 * only on lines of the pull request's diff: the others are left to the summary. Pure.
 */
import type { DriftedFinding, Finding } from '../compare/compare.js'
import type { ExplainResult } from '../explain/read.js'
import { pinnedLines } from '../pin/place.js'
import { isPinSite, type PinSite } from '../sources/read/pin-site.js'
import { changeSummary } from './findings.js'
import { mdCode, mdFence, mdText } from './markdown-escape.js'

export interface Suggestion {
  /** The file and the lines it replaces, `startLine` to `line` (GitHub's names). */
  file: string
  startLine: number
  line: number
  /** What tells it apart on the next run: its job's marker, its file and first line. */
  key: string
  /** The lines it replaces, as this run read them: the head must read the same. */
  original: string[]
  body: string
}

/**
 * What a job's suggestions start with, so that its next run finds them and no other job's:
 * an HTML comment, its words percent-encoded so that no file name can end it.
 */
export function suggestionPrefix(marker: string): string {
  return `<!-- base-image-drift suggestion ${encodeURIComponent(marker.replace(/^<!--\s*|\s*-->$/g, ''))} `
}

/** The first line of a suggestion: its job's prefix, its file and first line. */
function suggestionKey(marker: string, file: string, line: number): string {
  return `${suggestionPrefix(marker)}${encodeURIComponent(file)}:${line} -->`
}

/** One suggestion per drifted line that can be pinned where it is written. */
export function suggestionsFor(
  findings: readonly Finding[],
  explanations: ReadonlyMap<string, ExplainResult>,
  marker: string
): Suggestion[] {
  const seen = new Set<string>()
  const suggestions: Suggestion[] = []
  for (const finding of findings) {
    if (finding.status !== 'drifted' || !finding.pin || !isPinSite(finding.pin)) continue
    const site = finding.pin
    const key = suggestionKey(marker, finding.reference.file, site.line)
    // a line read by two builds is one suggestion
    if (seen.has(key)) continue
    seen.add(key)
    suggestions.push({
      file: finding.reference.file,
      startLine: site.line,
      line: site.endLine,
      key,
      original: site.lines.split(/\r?\n/),
      body: suggestionBody(key, finding, site, explanations.get(finding.image))
    })
  }
  return suggestions
}

function suggestionBody(
  key: string,
  finding: DriftedFinding,
  site: PinSite,
  explanation: ExplainResult | undefined
): string {
  const lines = pinnedLines(site, finding.previous.digest).split(/\r?\n/)
  const fence = mdFence(lines)
  const change = changeSummary(explanation)
  return [
    key,
    `**${mdCode(finding.image)}** changed under its tag since the last successful build${change ? `: ${mdText(change)}` : ''}.`,
    `Commit this suggestion to keep the known-good image, ${mdCode(finding.previous.digest)}:`,
    '',
    `${fence}suggestion`,
    ...lines,
    fence
  ].join('\n')
}

/** The body a suggestion of an earlier run gets once its line no longer drifts. */
export function settledBody(key: string): string {
  return `${key}\nThis line no longer drifts in the latest run: nothing to commit here.`
}

/**
 * The lines of the new file a pull request's diff shows (added and context lines of each
 * hunk of its `patch`), by number: the lines GitHub takes review comments on, as the head
 * writes them.
 */
export function diffLines(patch: string): Map<number, string> {
  const lines = new Map<number, string>()
  let line = 0
  for (const text of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text)
    if (hunk) line = Number(hunk[1])
    else if (line === 0 || text.startsWith('-') || text.startsWith('\\')) continue
    else lines.set(line++, text.slice(1).replace(/\r$/, ''))
  }
  return lines
}
