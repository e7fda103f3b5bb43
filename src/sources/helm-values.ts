/**
 * Helm chart values: the values charts render as images, in a `values*.yaml` beside a
 * `Chart.yaml`: under `image` and any key ending in `Image` or `image` (`sysctlImage`,
 * `kubectlImage`), a map of `registry`, `repository` (or `image`, or `name`), `tag` and
 * `digest` that templates join into `registry/repository:tag`, or a plain reference
 * (`pauseImage: registry.k8s.io/pause:3.2`). `global.imageRegistry` (Bitnami's common
 * chart) and `global.image.registry` replace every map's registry, as those charts render
 * it. An empty tag is the chart's `appVersion`, as most charts default it.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type YAMLMap } from 'yaml'
import {
  emptyScan,
  excerpt,
  imageOrError,
  type FoundReference,
  type Source,
  type SourceScan,
  scanYaml
} from './read/source.js'
import { field, positionOf, scalarText } from './read/yaml.js'
import type { ImageReference } from '../reference/reference.js'
import {
  isPinSite,
  pairOf,
  type FileText,
  type PinPlace,
  digestAfter,
  yamlKeySite,
  yamlScalarAt,
  yamlValueSite
} from './read/pin-site.js'

/** How deep values are searched for images. */
const MAX_DEPTH = 32

export const helmValuesSource: Source = {
  name: 'Helm values file',
  patterns: ['**/values*.y?(a)ml'],
  looksLike: text => /^[ \t]*(repository|[\w-]*[iI]mage)[ \t]*:/m.test(text),
  follows: [],
  kinds: [
    {
      name: 'helm-values',
      description:
        "Helm values `image: {registry, repository, tag}` (or `image`/`name` for `repository`; `registry` and `tag` optional; an empty tag is the chart's `appVersion`), under `image` or a key ending in `Image`, in a `values*.yaml` beside `Chart.yaml`",
      fence: 'yaml',
      locate: locateImageMap
    },
    {
      name: 'helm-values-reference',
      description:
        'a Helm value that is a whole reference, under `image` or a key ending in `Image` (`pauseImage: registry.k8s.io/pause:3.2`)',
      fence: 'yaml',
      locate: (file, reference) => yamlValueSite(file, reference.line, reference.column)
    }
  ],
  scan: (file, text, context) => {
    const chart = context.readBeside('Chart.yaml')
    // values files outside a chart are someone else's format
    if (chart === null) return emptyScan()
    return scanHelmValues(file, text, appVersionOf(chart), context.helmImageKeys)
  }
}

/** A key charts render as an image: `image`, `defaultImage`, `kubectlImage`, `initimage`. */
const IMAGE_KEY = /(?:^|[a-z0-9_-])[iI]mage$|^image$/

/** The images of a values file. Pure. */
export function scanHelmValues(
  file: string,
  text: string,
  appVersion: string | null,
  /** Keys a chart renders as images besides the conventional ones (input helm-image-keys). */
  imageKeys: readonly string[] = []
): SourceScan {
  const isImageKey = (key: string) => IMAGE_KEY.test(key) || imageKeys.includes(key)
  return scanYaml(file, text, ({ document, lineCounter }, result) => {
    const root = document.contents ?? undefined
    const global = isMap(root) ? field(document, root, 'global') : undefined
    const globalImage = isMap(global) ? field(document, global, 'image') : undefined
    const registry =
      (isMap(global) ? scalarText(field(document, global, 'imageRegistry')) : null) ||
      (isMap(globalImage) ? scalarText(field(document, globalImage, 'registry')) : null) ||
      null
    const visit = (node: unknown, depth: number): void => {
      if (depth > MAX_DEPTH) return
      if (isSeq(node)) for (const item of node.items) visit(item, depth + 1)
      if (!isMap(node)) return
      for (const pair of node.items) {
        const value = pair.value
        const key = scalarText(pair.key)
        if (key !== null && isImageKey(key)) {
          if (
            isMap(value) &&
            imageMap(document, value, file, lineCounter, appVersion, registry, result)
          )
            continue
          if (isScalar(value) && typeof value.value === 'string') {
            plainImage(file, key, value.value, positionOf(lineCounter, value), result)
            continue
          }
        }
        visit(value, depth + 1)
      }
    }
    visit(root, 0)
  })
}

/** An image map (`registry`, `repository`/`image`/`name`, `tag`, `digest`) as one reference; false when it is not one. */
function imageMap(
  document: Document,
  image: YAMLMap,
  file: string,
  lines: LineCounter,
  appVersion: string | null,
  globalRegistry: string | null,
  result: SourceScan
): boolean {
  const get = (key: string) => field(document, image, key)
  const named = ['repository', 'image', 'name'].find(key => scalarText(get(key)) !== null)
  const repository = named === undefined ? null : scalarText(get(named))
  if (named === undefined || repository === null) return false
  // `image` and `name` are many things: they name an image beside its other parts only
  const parts = ['registry', 'tag', 'digest'].some(key => get(key) !== undefined)
  if (named !== 'repository' && !parts) return false
  // a value rendered by `tpl`: known only when the chart is installed
  if (repository.includes('{{')) return true
  const registry = globalRegistry ?? scalarText(get('registry'))
  const digest = scalarText(get('digest'))
  const tag = scalarText(get('tag')) || (digest ? null : appVersion)
  const written = `${registry ? `${registry}/` : ''}${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`
  // the line a pin changes: the tag's, else the repository's
  const at = get('tag') ?? get(named)
  const { line, col } = positionOf(lines, at)
  result.references.push({
    file,
    line,
    column: col,
    kind: 'helm-values',
    source: excerpt(`image: ${written}`, 300),
    ...imageOrError(written)
  })
  return true
}

/** A value that is a whole reference: read when it parses as one, left alone otherwise (`image: ""`, a flag). */
function plainImage(
  file: string,
  key: string,
  text: string,
  { line, col }: { line: number; col: number },
  result: SourceScan
): void {
  if (text.includes('{{') || !/[:@/]/.test(text)) return
  const parsed = imageOrError(text)
  if (!parsed.image) return
  result.references.push({
    file,
    line,
    column: col,
    kind: 'helm-values-reference',
    source: excerpt(`${key}: ${text}`, 300),
    ...parsed
  })
}

/** `appVersion:` of a Chart.yaml, without parsing the rest. */
function appVersionOf(chart: string): string | null {
  const match = /^appVersion[ \t]*:[ \t]*["']?([^"'\s#]+)/m.exec(chart)
  return match ? match[1] : null
}

/**
 * An image map pinned as its chart renders it: into its `digest:` when it has one (Bitnami's
 * charts), else onto its tag (`tag: "7.2@sha256:…"`, what `repository:tag` templates render);
 * an empty or missing tag is the chart's appVersion, written out.
 */
function locateImageMap(
  file: FileText,
  reference: FoundReference & { image: ImageReference }
): PinPlace {
  const at = yamlScalarAt(file, reference.line, reference.column)
  if ('unpinnable' in at) return at
  if (!at.map) return { unpinnable: 'its image is not a map' }
  if (pairOf(at.map, 'digest')) return yamlKeySite(file, at.map, 'digest')
  const tag = reference.image.tag ?? 'latest'
  const written = pairOf(at.map, 'tag')
  const value = written?.value
  if (written && isScalar(value) && value.value !== null && value.value !== '') {
    if (at.scalar !== value) return { unpinnable: 'its tag is not written where it is read' }
    // `tag: 1.10` is the number 1.1 to Helm: pinned, it would become the text 1.10
    const text = file.text.slice(at.start, at.end)
    if (typeof value.value !== 'string' && text !== String(value.value))
      return {
        unpinnable: `its tag ${text} is a number Helm renders as ${String(value.value)}: quote it to pin it`
      }
    return digestAfter(file, at.start, at.end)
  }
  // no tag, or an empty one: the appVersion it stands for, written out
  const site = yamlKeySite(file, at.map, 'tag')
  if (!isPinSite(site)) return site
  return written
    ? { ...site, before: `${site.before}${tag}@` }
    : { ...site, before: `${site.before}"${tag}@`, after: '"' }
}
