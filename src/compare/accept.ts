/**
 * The `accept` entries a reviewer wrote, matched to the images that drifted, as the scanner
 * names images: `python:3.12-slim` is `docker.io/library/python:3.12-slim`; a pinned form
 * (`python:3.12-slim@sha256:…`) is its tag; an official image's short name also names the
 * one drifted image of that name and tag on another host (a mirror, a pull-through cache),
 * when there is exactly one. An entry that matches nothing, or more than one, is refused with what
 * did drift: an acceptance must say exactly what was reviewed. Pure.
 */
import { DOCKER_HUB, formatReference, parseReference } from '../reference/reference.js'

/** Which drift a run accepts: all of it, none, or the images listed (normalized references). */
export type Acceptance = boolean | readonly string[]

/** Whether a drift of `image` is accepted. */
export function accepts(accept: Acceptance, image: string): boolean {
  return typeof accept === 'boolean' ? accept : accept.includes(image)
}

/** The drifted images each entry names; `refused` says, per entry, why it names none. */
export function matchAcceptance(
  written: Acceptance,
  drifted: readonly string[]
): { acceptance: Acceptance; refused: string[] } {
  if (typeof written === 'boolean') return { acceptance: written, refused: [] }
  const images = [...new Set(drifted)].sort()
  const acceptance = new Set<string>()
  const refused: string[] = []
  for (const entry of written) {
    const matched = matchesOf(entry, images)
    if (matched.length === 1) acceptance.add(matched[0])
    else refused.push(refusal(entry, matched, images))
  }
  return { acceptance: [...acceptance], refused }
}

function matchesOf(entry: string, images: readonly string[]): string[] {
  const reference = parseReference(entry)
  const tagged = formatReference({ ...reference, digest: undefined })
  if (images.includes(tagged)) return [tagged]
  const official = tagged.slice(`${DOCKER_HUB}/`.length)
  // only an official image's short name is Docker Hub's whatever the host: `acme/app:1` on
  // GHCR is not docker.io's acme/app. A mirror keeps `library/`, under a path of its own or not.
  if (hostWritten(entry) || !official.startsWith('library/')) return []
  return images.filter(image => {
    const path = image.slice(image.indexOf('/') + 1)
    return path === official || path.endsWith(`/${official}`)
  })
}

/** Whether the entry names its registry (Docker's rule: a first part with `.` or `:`, or `localhost`). */
function hostWritten(entry: string): boolean {
  const slash = entry.indexOf('/')
  if (slash < 0) return false
  const first = entry.slice(0, slash)
  return first.includes('.') || first.includes(':') || first === 'localhost'
}

function refusal(entry: string, matched: string[], images: readonly string[]): string {
  if (matched.length > 1)
    return `"${entry}" names ${matched.length} images that drifted (${matched.join(', ')}): write the one to accept with its registry`
  const did =
    images.length === 0
      ? 'no image drifted in this run'
      : `what drifted: ${images.map(image => `${image} (accept: ${shortest(image, images)})`).join(', ')}`
  return `"${entry}" matches no image that drifted in this run; ${did}`
}

/** The shortest entry that names `image` alone among `images`. */
function shortest(image: string, images: readonly string[]): string {
  const path = image.slice(image.indexOf('/') + 1)
  const bare = path.startsWith('library/') ? path.slice('library/'.length) : path
  const matched = hostWritten(bare) ? [] : matchesOf(bare, images)
  return matched.length === 1 && matched[0] === image ? bare : image
}
