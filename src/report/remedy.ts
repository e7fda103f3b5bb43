import type { Finding } from '../compare/compare.js'
import { formatReference } from '../reference/reference.js'

/**
 * The line to paste to keep the known-good image: the reference as written, pinned to the
 * baseline digest. Where the line builds its image from variables, the normalized reference.
 */
export function pinLine(finding: Finding, digest: string): string {
  const { reference } = finding
  const image = reference.image!
  const pinned = `${formatReference({ ...image, digest: undefined })}@${digest}`
  if (reference.kind === 'compose') {
    const written = reference.source.replace(/^image:\s*/, '')
    return `image: ${written.includes('$') ? pinned : `${stripDigest(written)}@${digest}`}`
  }
  if (reference.kind === 'syntax') return `# syntax=${pinned}`
  const words = reference.source.split(/\s+/)
  const index = words.findIndex((word, i) => i > 0 && !word.startsWith('--'))
  if (reference.kind === 'from' && index > 0 && !words[index].includes('$')) {
    words[index] = `${stripDigest(words[index])}@${digest}`
    return words.join(' ')
  }
  if (reference.kind === 'from')
    return `FROM ${pinned}${reference.stage ? ` AS ${reference.stage}` : ''}`
  return reference.kind === 'copy-from' ? `--from=${pinned}` : `from=${pinned}`
}

function stripDigest(text: string): string {
  return text.replace(/@[^@\s]*$/, '')
}
