import { parseReference } from '../../src/reference/reference.js'
import type { FoundReference } from '../../src/sources/source.js'

/** A reference as the scanner would report it from `FROM image` on line `line` of a Dockerfile. */
export function found(image: string, line = 1, file = 'Dockerfile'): FoundReference {
  return {
    file,
    line,
    column: 1,
    kind: 'from',
    source: `FROM ${image}`,
    image: parseReference(image),
    stage: null,
    platform: null,
    error: null
  }
}
