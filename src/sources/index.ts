/**
 * The list of sources of image references. A new source is one module and one entry here:
 * discovery, the pin lines and the docs all read this list. Order matters: a file is
 * scanned by the first source that claims it.
 */
import { bakeSource } from './bake.js'
import { composeSource } from './compose.js'
import { dockerfileSource } from './dockerfile.js'
import { workflowSource } from './workflow.js'
import type { FoundReference, ReferenceKindSpec, Source } from './source.js'

export const SOURCES: readonly Source[] = [
  workflowSource,
  composeSource,
  bakeSource,
  dockerfileSource
]

/** The default file patterns: every source's. */
export const DEFAULT_PATTERNS: readonly string[] = SOURCES.flatMap(s => s.patterns)

/** The source that scans a path. */
export function sourceFor(path: string): Source {
  const source = SOURCES.find(s => s.claims(path))
  if (!source) throw new Error(`no source claims ${path}`)
  return source
}

/** How references of a kind are shown and pinned: as the source of their file says, first. */
export function kindSpec(reference: FoundReference): ReferenceKindSpec {
  const own = sourceFor(reference.file).kinds.find(k => k.name === reference.kind)
  if (own) return own
  for (const source of SOURCES) {
    const spec = source.kinds.find(k => k.name === reference.kind)
    if (spec) return spec
  }
  throw new Error(`no source declares the reference kind "${reference.kind}"`)
}
