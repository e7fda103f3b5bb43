/**
 * Where each reference of a file is pinned, through its kind's locator: one site per place in
 * the text, and a site that names several images (a line read with two builds' args, or
 * once per platform through `$TARGETARCH`) cannot take one digest. Pure.
 */
import { formatReference } from '../reference/reference.js'
import { kindSpec } from '../sources/index.js'
import { isPinSite, type FileText, type PinPlace, type PinSite } from '../sources/read/pin-site.js'
import type { FoundReference } from '../sources/read/source.js'

/** The place of each reference of `file` that names an image. */
export function pinPlaces(
  file: FileText,
  references: readonly FoundReference[]
): Map<FoundReference, PinPlace> {
  const places = new Map<FoundReference, PinPlace>()
  const imagesAt = new Map<string, Set<string>>()
  for (const reference of references) {
    if (!reference.image || reference.file !== file.file) continue
    let place: PinPlace
    try {
      place = kindSpec(reference).locate(file, { ...reference, image: reference.image })
    } catch {
      place = { unpinnable: 'its value could not be found in the file' }
    }
    // a digest the line does not write (`FROM ${BASE}`, BASE's default pinned) is its variable's
    if (
      reference.image.digest &&
      isPinSite(place) &&
      place.start === place.end &&
      /^:?[^:]*@/.test(place.before)
    )
      place = { unpinnable: 'its digest comes from a variable: pin it where the variable is set' }
    places.set(reference, place)
    if (!isPinSite(place)) continue
    const images = imagesAt.get(siteKey(place)) ?? new Set<string>()
    images.add(formatReference({ ...reference.image, digest: undefined }))
    imagesAt.set(siteKey(place), images)
  }
  for (const [reference, place] of places) {
    const images = isPinSite(place) ? imagesAt.get(siteKey(place)) : undefined
    if (images && images.size > 1)
      places.set(reference, {
        unpinnable: `the line names ${images.size} images (${[...images].join(', ')}) through its variables: one digest cannot pin them all`
      })
  }
  return places
}

/** References by the file they are in, in their order. */
export function byFile<T extends { file: string }>(references: Iterable<T>): Map<string, T[]> {
  const files = new Map<string, T[]>()
  for (const reference of references) {
    const list = files.get(reference.file)
    if (list) list.push(reference)
    else files.set(reference.file, [reference])
  }
  return files
}

function siteKey(site: PinSite): string {
  return `${site.start}:${site.end}`
}

/** The lines a site touches, the digest written in. */
export function pinnedLines(site: PinSite, digest: string): string {
  const from = site.start - site.linesStart
  const to = site.end - site.linesStart
  return site.lines.slice(0, from) + site.before + digest + site.after + site.lines.slice(to)
}

/** A file's text with each site's digest written in; sites are distinct places of it. */
export function applyPins(
  text: string,
  pins: readonly { site: PinSite; digest: string }[]
): string {
  const ordered = [...new Map(pins.map(pin => [siteKey(pin.site), pin])).values()].sort(
    (a, b) => a.site.start - b.site.start
  )
  // in one pass: slicing the whole text once per pin is quadratic in a file of many
  const parts: string[] = []
  let at = 0
  for (const { site, digest } of ordered) {
    parts.push(text.slice(at, site.start), site.before, digest, site.after)
    at = site.end
  }
  parts.push(text.slice(at))
  return parts.join('')
}
