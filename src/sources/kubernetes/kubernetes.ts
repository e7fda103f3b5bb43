/**
 * Kubernetes manifests: the images a cluster pulls for the Pods they describe, in every
 * document of a file, with the `images:` overrides of the kustomizations that list it applied
 * as Kustomize applies them. A chart's template, a document that is a template, or an image
 * that is one is said not to be scanned; the other documents of the file are read.
 */
import { isMap, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from 'yaml'
import { emptyScan, excerpt, imageOrError, type Source, type SourceScan } from '../read/source.js'
import { MAX_FILE_BYTES, MAX_MANIFEST_BYTES, mebibytes } from '../read/read-file.js'
import { isPatched, type ContainerAt, type PatchedContainer } from './selector.js'
import { deref, field, parseYamlStream, positionOf, scalarText, yamlError } from '../read/yaml.js'
import { yamlValueSite } from '../read/pin-site.js'

/** The kind of a reference a Kustomize `images:` entry makes: declared by the kustomization source. */
export const KUSTOMIZE_KIND = 'kustomize'
/** The kind of a reference a Kustomize JSON 6902 patch's `value:` makes: declared by the JSON patch source. */
export const JSON_PATCH_KIND = 'kustomize-json-patch'

/** One Kustomize `images:` entry: the image `name` it matches, and what it sets. */
export interface ImageOverride {
  name: string
  newName?: string
  newTag?: string
  digest?: string
  /** Where it is written, for the reference it makes. */
  file: string
  line: number
  column: number
  /** The entry as one line: `name: nginx, newTag: 1.27`. */
  source: string
}

/** What a kustomization passes to a manifest it lists: its overrides, and those of the kustomizations above it, innermost first. */
export interface KustomizeImages {
  layers: ImageOverride[][]
  /**
   * Containers whose image a patch of a kustomization above changes: the patch's image is
   * what is pulled, reported where the patch sets it.
   */
  patched?: readonly PatchedContainer[]
  /** The kustomizations that listed this one, outermost first: one listed again is a cycle. */
  via?: readonly string[]
}

/** Where a Pod spec is: a Pod, a workload's template, a CronJob's job template. */
const POD_SPEC_PATHS = [
  ['spec'],
  ['spec', 'template', 'spec'],
  ['spec', 'jobTemplate', 'spec', 'template', 'spec']
]
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers']
/** How deep `List` items may nest. */
const MAX_LIST_DEPTH = 8

export const kubernetesSource: Source<KustomizeImages> = {
  name: 'Kubernetes manifest',
  patterns: ['**/*.y?(a)ml'],
  maxBytes: MAX_MANIFEST_BYTES,
  // only a file whose content says it: any YAML file may be named *.yaml
  looksLike: text =>
    /^apiVersion[ \t]*:/m.test(text) &&
    /^kind[ \t]*:/m.test(text) &&
    !/^kind[ \t]*:[ \t]*["']?(Kustomization|Component)\b/m.test(text),
  follows: [],
  kinds: [
    {
      name: 'kubernetes',
      description:
        '`image:` of `containers`, `initContainers` and `ephemeralContainers` in a Pod spec: a Pod, a workload template (`spec.template.spec`), a CronJob (`spec.jobTemplate.spec.template.spec`), in every document and every `List` item',
      fence: 'yaml',
      locate: (file, reference) => yamlValueSite(file, reference.line, reference.column)
    }
  ],
  scan: (file, text, context) =>
    scanManifests(file, text, context.passed?.layers ?? [], context.passed?.patched ?? [])
}

/** Every image the manifests of a file pull, overrides applied. Pure. */
export function scanManifests(
  file: string,
  text: string,
  layers: readonly ImageOverride[][] = [],
  patched: readonly PatchedContainer[] = []
): SourceScan {
  const result = emptyScan()
  const template = text.indexOf('{{')
  if (template >= 0 && /(?:^|\/)templates\//.test(file)) {
    // a chart's template is YAML only once rendered, with values set at install time
    result.notices.push({ file, line: lineAt(text, template), message: TEMPLATE })
    return result
  }
  // document by document: a release manifest of megabytes is mostly CRDs, which hold no
  // image and are not parsed, and one document's parse is all that is in memory at a time
  for (const document of documentsOf(text)) {
    if (IMAGELESS_KIND.test(document.text)) continue
    const shift = (line: number) => line + document.line - 1
    if (document.text.length > MAX_FILE_BYTES) {
      // the memory a parse takes grows with the document: no workload is described in megabytes
      result.errors.push({
        file,
        line: document.line,
        message: `document not scanned: larger than ${mebibytes(MAX_FILE_BYTES)} (${document.text.length} characters)`
      })
      continue
    }
    const parsed = parseYamlStream(file, document.text)
    if ('error' in parsed) {
      result.errors.push({ ...parsed.error, line: shift(parsed.error.line ?? 1) })
      continue
    }
    for (const yaml of parsed.documents) {
      const [error] = yaml.errors
      if (error) {
        // a Go template in one document (a ConfigMap of an install manifest) leaves it alone unread
        const marker = document.text.indexOf('{{')
        if (marker >= 0)
          result.notices.push({
            file,
            line: shift(lineAt(document.text, marker)),
            message: TEMPLATE
          })
        else {
          const problem = yamlError(file, error, 'document')
          result.errors.push({ ...problem, line: shift(problem.line ?? 1) })
        }
        continue
      }
      if (isMap(yaml.contents))
        forEachContainer(yaml, yaml.contents, parsed.lineCounter, (node, position, at) => {
          if (!isPatched(patched, at))
            addImage(file, node, { ...position, line: shift(position.line) }, layers, result)
        })
    }
  }
  return result
}

const TEMPLATE = 'a template ({{ … }}): not scanned'

/** Kinds that never carry a Pod spec: the bulk of an install manifest, skipped unparsed. */
const IMAGELESS_KIND =
  /^kind[ \t]*:[ \t]*["']?(?:CustomResourceDefinition|ConfigMap|Secret|ServiceAccount|Service|Namespace|(?:Cluster)?Role(?:Binding)?|(?:Validating|Mutating)WebhookConfiguration|APIService|PriorityClass|NetworkPolicy|Ingress|IngressClass|PodDisruptionBudget|StorageClass)["']?[ \t]*(?:#.*)?$/m

/**
 * The documents of a YAML stream as text, with the line each starts on. YAML ends a document
 * at a line that starts with `---` or `...` (followed by white space or the line's end),
 * wherever it is: inside a block scalar too, which is why such a line may not occur there.
 */
function documentsOf(text: string): { text: string; line: number }[] {
  const documents: { text: string; line: number }[] = []
  let start = 0
  let startLine = 1
  let line = 1
  for (let at = 0; at <= text.length;) {
    const next = text.indexOf('\n', at)
    const end = next < 0 ? text.length : next
    const marker = /^(?:---|\.\.\.)(?:[ \t]|\r?$)/.test(text.slice(at, Math.min(end, at + 5)))
    if (marker && at > start) {
      // `---` starts the next document; `...` ends this one
      const cut = text.startsWith('...', at) ? end : at
      documents.push({ text: text.slice(start, cut), line: startLine })
      start = cut
      startLine = text.startsWith('...', at) ? line + 1 : line
    }
    if (next < 0) break
    at = next + 1
    line++
  }
  if (start < text.length) documents.push({ text: text.slice(start), line: startLine })
  return documents
}

function lineAt(text: string, offset: number): number {
  let line = 1
  for (let at = text.indexOf('\n'); at >= 0 && at < offset; at = text.indexOf('\n', at + 1)) line++
  return line
}

/** Every container's `image:` in an object (a `List`'s items too), with the container as a patch selects it. */
export function forEachContainer(
  document: Document,
  object: YAMLMap,
  lines: LineCounter,
  onImage: (node: Node, position: { line: number; col: number }, at: ContainerAt) => void,
  depth = 0,
  /** What was read already: aliases and merge keys make one node reachable many ways (8 items × 7 levels of one List). */
  seen = new Set<Node>()
): void {
  const items = field(document, object, 'items')
  if (isSeq(items) && depth < MAX_LIST_DEPTH && !seen.has(items)) {
    seen.add(items)
    for (const item of items.items) {
      // an item may be an alias of an object written elsewhere: read where it is written, once
      const object = deref(document, item)
      if (isMap(object) && !seen.has(object)) {
        seen.add(object)
        forEachContainer(document, object, lines, onImage, depth + 1, seen)
      }
    }
  }
  const metadata = field(document, object, 'metadata')
  const identity = {
    kind: scalarText(field(document, object, 'kind')) ?? '',
    name: (isMap(metadata) ? scalarText(field(document, metadata, 'name')) : null) ?? ''
  }
  for (const path of POD_SPEC_PATHS) {
    let node: Node | undefined = object
    for (const key of path) node = isMap(node) ? field(document, node, key) : undefined
    if (!isMap(node)) continue
    for (const list of CONTAINER_LISTS) {
      const containers = field(document, node, list)
      if (!isSeq(containers) || seen.has(containers)) continue
      seen.add(containers)
      containers.items.forEach((item, index) => {
        const container = deref(document, item)
        if (!isMap(container)) return
        const image = field(document, container, 'image')
        const name = scalarText(field(document, container, 'name'))
        if (image !== undefined)
          onImage(image, positionOf(lines, image), { ...identity, container: name, list, index })
      })
    }
  }
}

/** The image a container pulls, overrides applied; `key` is how the line writes it (`image:`, a JSON patch's `value:`). */
export function addImage(
  file: string,
  node: Node,
  { line, col }: { line: number; col: number },
  layers: readonly ImageOverride[][],
  result: SourceScan,
  key: 'image' | 'value' = 'image'
): void {
  const written = scalarText(node)
  const ownKind = key === 'image' ? 'kubernetes' : JSON_PATCH_KIND
  if (written?.includes('{{')) {
    // only the template's renderer knows the image
    result.notices.push({
      file,
      line,
      message: `${key}: ${excerpt(written, 300)} is a template: not scanned`
    })
    return
  }
  if (written === null || written.trim() === '') {
    result.references.push({
      file,
      line,
      column: col,
      kind: ownKind,
      source: `${key}:`,
      error: `${key}: is empty or not a string`
    })
    return
  }
  const { image, by } = applyOverrides(written, layers)
  const at = by ?? { file, line, column: col, source: `${key}: ${excerpt(written, 300)}` }
  result.references.push({
    file: at.file,
    line: at.line,
    column: at.column,
    kind: by ? KUSTOMIZE_KIND : ownKind,
    source: at.source,
    ...imageOrError(image)
  })
}

/**
 * The image after each kustomization's `images:`, innermost first, as Kustomize's image
 * transformer does it: an entry matches the image's name without tag or digest; `newName`
 * replaces the name; `newTag` and `digest` together give `:newTag@digest`, and either alone
 * replaces both the tag and the digest written.
 */
export function applyOverrides(
  written: string,
  layers: readonly ImageOverride[][]
): { image: string; by: ImageOverride | null } {
  let image = written
  let by: ImageOverride | null = null
  for (const layer of layers) {
    const { name, suffix } = splitImage(image)
    const override = layer.find(o => o.name === name)
    if (!override) continue
    by = override
    const tagged =
      (override.newTag ? `:${override.newTag}` : '') +
        (override.digest ? `@${override.digest}` : '') || suffix
    image = `${override.newName ?? name}${tagged}`
  }
  return { image, by }
}

/** `nginx:1.27@sha256:…` → `nginx` and `:1.27@sha256:…`; a registry port is part of the name. */
function splitImage(image: string): { name: string; suffix: string } {
  const at = image.indexOf('@')
  const beforeDigest = at >= 0 ? image.slice(0, at) : image
  const colon = beforeDigest.lastIndexOf(':')
  const end = colon > beforeDigest.lastIndexOf('/') ? colon : beforeDigest.length
  return { name: image.slice(0, end), suffix: image.slice(end) }
}
