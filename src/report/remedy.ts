import type { Finding } from '../compare/compare.js'
import { formatReference } from '../reference/reference.js'

/**
 * The line to paste to keep the known-good image: the line as written (variables and all),
 * its image pinned to the baseline digest.
 */
export function pinLine(finding: Finding, digest: string): string {
  const { reference } = finding
  const pin = (word: string) => `${word.replace(/@[^@\s]*$/, '')}@${digest}`
  if (reference.kind === 'compose')
    return `image: ${pin(reference.source.replace(/^image:\s*/, ''))}`
  if (reference.kind === 'syntax') return `# syntax=${pin(formatReference(reference.image!))}`
  const words = reference.source.split(/\s+/)
  if (reference.kind === 'from') {
    const index = words.findIndex((word, i) => i > 0 && !word.startsWith('--'))
    words[index] = pin(words[index])
    return words.join(' ')
  }
  // COPY --from=IMAGE, RUN --mount=…,from=IMAGE,…: pin the value in its flag
  const option =
    reference.kind === 'copy-from' ? /^(--from=)(.+)$/i : /^(--mount=.*?\bfrom=)([^,]+)(.*)$/i
  const index = words.findIndex(word => option.test(word) && !/from=\d+(,|$)/i.test(word))
  const match = option.exec(words[index] ?? '')
  if (!match)
    return `${reference.kind === 'copy-from' ? '--from=' : 'from='}${pin(formatReference(reference.image!))}`
  words[index] = `${match[1]}${pin(match[2])}${match[3] ?? ''}`
  return words.join(' ')
}
