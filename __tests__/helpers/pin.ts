import { pinPlaces } from '../../src/pin/place.js'
import { pinLine } from '../../src/report/remedy.js'
import { FileText } from '../../src/sources/read/pin-site.js'
import type { FoundReference } from '../../src/sources/read/source.js'

/** The pin line the report shows for a reference of `text`, as the run places it in its file. */
export function pinLineIn(text: string, reference: FoundReference, digest: string): string {
  const pin = pinPlaces(new FileText(reference.file, text), [reference]).get(reference)
  return pinLine({ reference, parsed: reference.image!, pin }, digest)
}
