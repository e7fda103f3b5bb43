/**
 * Kustomize patches, as `kustomize build` applies them: a patch is never a resource of its
 * own. A strategic-merge patch merges containers by name into the resources it selects (its
 * own kind and name, or its `target:`); a JSON 6902 patch (`op`, `path`, `value`) changes the
 * resources its `target:` selects, containers by position. What a patch sets is what is
 * pulled, reported where the patch sets it, and the kustomization's `images:` run after it.
 */
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  Scalar,
  type Document,
  type LineCounter,
  type Node,
  type YAMLMap
} from 'yaml'
import {
  addImage,
  forEachContainer,
  JSON_PATCH_KIND,
  kubernetesSource,
  scanManifests,
  type KustomizeImages
} from '../kubernetes/kubernetes.js'
import type { PatchedContainer } from '../kubernetes/selector.js'
import {
  emptyScan,
  follow,
  type Follow,
  type Source,
  type SourceScan,
  type ReferenceKindSpec
} from '../read/source.js'
import { field, parseYamlStream, positionOf, scalarText } from '../read/yaml.js'
import { yamlValueSite } from '../read/pin-site.js'

const JSON_PATCH_SPEC: ReferenceKindSpec = {
  name: JSON_PATCH_KIND,
  description:
    "the `value:` of a Kustomize JSON 6902 patch that sets a container's image (`op: replace`, `path: /spec/template/spec/containers/0/image`)",
  fence: 'yaml',
  locate: (file, reference) => yamlValueSite(file, reference.line, reference.column)
}

/** A JSON 6902 patch file, read only as the kustomization that applies it says. */
export const jsonPatchSource: Source<KustomizeImages> = {
  name: 'Kustomize JSON patch',
  patterns: [],
  follows: [],
  kinds: [JSON_PATCH_SPEC],
  scan: (file, text, context) => {
    const result = emptyScan()
    readJsonPatch(file, text, context.passed ?? { layers: [] }, result)
    return result
  }
}

/** One entry of `patches`, `patchesStrategicMerge` or `patchesJson6902`. */
interface Patch {
  target: Selector | null
  /** Its file, relative to the kustomization; or the patch written inline. */
  path: string | null
  inline: Node | null
  line: number
}

interface Selector {
  kind: string | null
  name: string | null
}

/** The patches a kustomization applies, in the three spellings kustomize reads. */
export function patchesOf(document: Document, root: YAMLMap, lineCounter: LineCounter): Patch[] {
  const patches: Patch[] = []
  const strategic = field(document, root, 'patchesStrategicMerge')
  for (const item of isSeq(strategic) ? strategic.items : []) {
    const text = scalarText(item)
    if (text === null) continue
    const line = positionOf(lineCounter, item).line
    // an entry is a file unless it is YAML itself (kustomize tries the file first)
    if (/\.ya?ml$/i.test(text) && !text.includes('\n'))
      patches.push({ target: null, path: text, inline: null, line })
    else if (isNode(item)) patches.push({ target: null, path: null, inline: item, line })
  }
  for (const key of ['patches', 'patchesJson6902']) {
    const listed = field(document, root, key)
    for (const item of isSeq(listed) ? listed.items : []) {
      if (!isMap(item)) continue
      const path = field(document, item, 'path')
      const inline = field(document, item, 'patch')
      const at = path ?? inline
      if (scalarText(at) === null) continue
      patches.push({
        target: selectorOf(document, field(document, item, 'target')),
        path: path === undefined ? null : scalarText(path),
        inline: path === undefined ? (inline ?? null) : null,
        line: positionOf(lineCounter, at).line
      })
    }
  }
  return patches
}

function selectorOf(document: Document, node: Node | undefined): Selector | null {
  if (!isMap(node)) return null
  // labelSelector and annotationSelector narrow it further: read as any resource of its kind and name
  return {
    kind: scalarText(field(document, node, 'kind')),
    name: scalarText(field(document, node, 'name'))
  }
}

/**
 * What applying a kustomization's patches makes of its build: the containers they change,
 * the patch files to follow, and the references of the patches written inline in it.
 */
export function applyPatches(
  file: string,
  text: string,
  patches: readonly Patch[],
  passed: KustomizeImages,
  read: (path: string) => string | null,
  result: SourceScan
): PatchedContainer[] {
  const patched: PatchedContainer[] = []
  for (const patch of patches) {
    const written = patch.path !== null ? read(patch.path) : inlineText(patch.inline)
    const json = written !== null && isJsonPatch(written)
    if (written !== null) patched.push(...containersChanged(file, written, json, patch.target))
    if (patch.path !== null) {
      const by = `kustomization ${file} (a patch)`
      const at: Omit<Follow, 'source' | 'passed'> = {
        path: patch.path,
        verb: 'builds',
        by,
        line: patch.line
      }
      result.follows.push(
        json ? follow(jsonPatchSource, passed, at) : follow(kubernetesSource, passed, at)
      )
    } else if (written !== null && patch.inline !== null) {
      const inline = shiftedTo(text, patch.inline, written)
      // read under a name of its own: what an `images:` entry changes stays on that entry
      const patchFile = `${file}\0patch`
      const own = emptyScan()
      if (json) readJsonPatch(patchFile, written, passed, own)
      else Object.assign(own, scanManifests(patchFile, written, passed.layers))
      for (const reference of own.references)
        if (reference.file === patchFile) Object.assign(reference, { file }, inline(reference))
      for (const problem of [...own.errors, ...own.notices])
        if (problem.file === patchFile)
          Object.assign(problem, {
            file,
            line: inline({ line: problem.line ?? 1, column: 1 }).line
          })
      result.references.push(...own.references)
      result.errors.push(...own.errors)
      result.notices.push(...own.notices)
    }
  }
  return patched
}

function inlineText(node: Node | null): string | null {
  const text = scalarText(node ?? undefined)
  return text === null ? null : text.trim()
}

/**
 * Places a position in an inline patch's text in the kustomization: a block scalar's lines
 * follow its indicator, indented; any other scalar is one place, where it starts.
 */
function shiftedTo(
  text: string,
  node: Node,
  written: string
): (at: { line: number; column: number }) => { line: number; column: number } {
  const start = node.range?.[0] ?? 0
  const indicatorLine = lineOf(text, start)
  const block =
    isScalar(node) && (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED)
  if (!block) return () => ({ line: indicatorLine, column: 1 })
  // the first content line: blank lines the trim dropped come before it
  const raw = text.slice(text.indexOf('\n', start) + 1)
  const firstLine = written.split('\n', 1)[0]
  const lines = raw.split('\n', 256)
  const skipped = Math.max(
    0,
    lines.findIndex(l => l.trim() === firstLine.trim())
  )
  const indent = /^[ \t]*/.exec(lines[skipped] ?? '')?.[0].length ?? 0
  return ({ line, column }) => ({
    line: indicatorLine + skipped + line,
    column: column + indent
  })
}

function lineOf(text: string, offset: number): number {
  let line = 1
  for (let at = text.indexOf('\n'); at >= 0 && at < offset; at = text.indexOf('\n', at + 1)) line++
  return line
}

/** As kustomize tells them apart: a JSON 6902 patch is a list of operations; a strategic-merge patch, resources. */
function isJsonPatch(text: string): boolean {
  return /^\s*(?:\[|-)/.test(text.replace(/^(?:\s*#.*\n)*/, ''))
}

/** The containers a patch changes, in the resources its target or its own identity selects. */
function containersChanged(
  file: string,
  text: string,
  json: boolean,
  target: Selector | null
): PatchedContainer[] {
  const changed: PatchedContainer[] = []
  if (json) {
    // a JSON 6902 patch without a target is refused by kustomize: it changes nothing
    if (target === null) return changed
    forEachOperation(file, text, operation => {
      const at = containerPath(operation.path)
      if (at && operation.op !== 'add')
        changed.push({ ...target, container: `${at.list}/${at.index ?? '*'}` })
    })
    return changed
  }
  const parsed = parseYamlStream(file, text)
  if ('error' in parsed) return changed
  for (const document of parsed.documents)
    if (document.errors.length === 0 && isMap(document.contents))
      forEachContainer(document, document.contents, parsed.lineCounter, (_node, _position, at) =>
        changed.push({
          kind: target ? target.kind : escapeSelector(at.kind),
          name: target ? target.name : escapeSelector(at.name),
          container: at.container ?? `${at.list}/${at.index}`
        })
      )
  return changed
}

function escapeSelector(text: string): string {
  return text.replace(/[.*|\\()[\]{}+?^$]/g, '\\$&')
}

/** Where a JSON 6902 path points in a Pod spec: a container list, one of its containers, or that container's image. */
function containerPath(
  path: string
): { list: string; index: string | null; image: boolean } | null {
  const match =
    /^\/spec(?:\/template\/spec|\/jobTemplate\/spec\/template\/spec)?\/(initContainers|containers|ephemeralContainers)(?:\/(\d+|-)(\/image)?)?$/.exec(
      path
    )
  if (!match) return null
  return { list: match[1], index: match[2] ?? null, image: match[3] !== undefined }
}

interface Operation {
  op: string
  path: string
  value: Node | undefined
}

function forEachOperation(
  file: string,
  text: string,
  each: (operation: Operation, document: Document, lineCounter: LineCounter) => void
): void {
  const parsed = parseYamlStream(file, text)
  if ('error' in parsed) return
  const [document] = parsed.documents
  if (!document || document.errors.length > 0 || !isSeq(document.contents)) return
  for (const item of document.contents.items) {
    if (!isMap(item)) continue
    const op = scalarText(field(document, item, 'op'))
    const path = scalarText(field(document, item, 'path'))
    if (op !== null && path !== null)
      each({ op, path, value: field(document, item, 'value') }, document, parsed.lineCounter)
  }
}

/** The images a JSON 6902 patch puts into containers: a `value` that is an image, a container, or a list of them. */
function readJsonPatch(
  file: string,
  text: string,
  passed: KustomizeImages,
  result: SourceScan
): void {
  forEachOperation(file, text, ({ op, path, value }, document, lineCounter) => {
    const at = containerPath(path)
    if (!at || (op !== 'add' && op !== 'replace') || value === undefined) return
    if (at.image) {
      addImage(file, value, positionOf(lineCounter, value), passed.layers, result, 'value')
      return
    }
    const containers = at.index === null ? (isSeq(value) ? value.items : []) : [value]
    for (const container of containers) {
      if (!isMap(container)) continue
      const image = field(document, container, 'image')
      if (image !== undefined)
        addImage(file, image, positionOf(lineCounter, image), passed.layers, result, 'image')
    }
  })
}
