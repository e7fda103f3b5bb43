/**
 * The list of sources of image references. A new source is one module and one entry here:
 * discovery, the pin lines and the docs all read this list. Which source reads a file comes
 * from each source's own description (its names, then its content), never from list order.
 */
import picomatch from 'picomatch'
import { bakeSource } from './bake/bake.js'
import { composeSource } from './compose/compose.js'
import { dockerfileSource } from './dockerfile/dockerfile.js'
import { helmValuesSource } from './helm-values.js'
import { kubernetesSource } from './kubernetes/kubernetes.js'
import { kustomizeSource } from './kustomize/kustomize.js'
import { jsonPatchSource } from './kustomize/patches.js'
import { workflowSource } from './workflow/workflow.js'
import type { FoundReference, ReferenceKindSpec, Source } from './read/source.js'

export const SOURCES: readonly Source[] = [
  workflowSource,
  composeSource,
  bakeSource,
  dockerfileSource,
  kustomizeSource,
  kubernetesSource,
  jsonPatchSource,
  helmValuesSource
]

/** The default file patterns: every source's. */
export const DEFAULT_PATTERNS: readonly string[] = [...new Set(SOURCES.flatMap(s => s.patterns))]

/** Each source with the matcher of its names (its default patterns), compiled once. */
const NAMED_BY = SOURCES.map(source => ({
  source,
  names: picomatch([...source.patterns], { dot: true, ignore: [...(source.notNamed ?? [])] })
}))

/**
 * The source that reads a file: one whose names match and whose content test agrees; else
 * one whose names match and that has no content test. A file the user chose by name (not
 * by the default patterns) that none of those reads is read by the source whose content it
 * is. Null: no source reads it, and it is passed over.
 */
export function sourceFor(path: string, text: string, chosenByUser = false): Source | null {
  // a directory given as `../app` lists `../app/Dockerfile`: its name is what follows the `..`
  const name = path.replace(/^(?:\.\.\/)+/, '')
  const named = NAMED_BY.filter(({ names }) => names(name)).map(({ source }) => source)
  return (
    named.find(s => s.looksLike?.(text) === true) ??
    named.find(s => s.looksLike === undefined) ??
    (chosenByUser ? SOURCES.find(s => s.looksLike?.(text) === true) : undefined) ??
    null
  )
}

/**
 * Sources in the order discovery reads their files: a source before the sources it follows
 * (a workflow before the Bake files its steps run, both before the Dockerfiles they build),
 * so a file is read as what names it says. A source may follow itself (a Compose `include`).
 */
export const READ_ORDER: readonly Source[] = (() => {
  const ordered: Source[] = []
  const visit = (source: Source, path: readonly Source[]): void => {
    if (ordered.includes(source)) return
    if (path.includes(source))
      throw new Error(`sources follow each other in a cycle: ${source.name}`)
    // everything that follows this source comes first
    for (const follower of SOURCES)
      if (follower !== source && follower.follows.includes(source))
        visit(follower, [...path, source])
    ordered.push(source)
  }
  for (const source of SOURCES) visit(source, [])
  return ordered
})()

/** How references of a kind are shown and pinned: the kind's name is the same wherever it is declared. */
export function kindSpec(reference: FoundReference): ReferenceKindSpec {
  for (const source of SOURCES) {
    const spec = source.kinds.find(k => k.name === reference.kind)
    if (spec) return spec
  }
  throw new Error(`no source declares the reference kind "${reference.kind}"`)
}
