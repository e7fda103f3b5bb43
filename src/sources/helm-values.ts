/**
 * Helm chart values: `image: {registry?, repository, tag?, digest?}` maps in a `values*.yaml`
 * beside a `Chart.yaml`, the shape charts' templates join into `registry/repository:tag`. An
 * empty tag is the chart's `appVersion`, as most charts default it.
 */
import { isMap, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from 'yaml'
import { emptyScan, excerpt, imageOrError, type Source, type SourceScan } from './source.js'
import { field, positionOf, scalarText, scanYaml } from './yaml.js'

/** How deep values are searched for `image:` maps. */
const MAX_DEPTH = 32

export const helmValuesSource: Source = {
  name: 'Helm values file',
  patterns: ['**/values*.y?(a)ml'],
  looksLike: text => /^[ \t]*repository[ \t]*:/m.test(text),
  follows: [],
  kinds: [
    {
      name: 'helm-values',
      description:
        "Helm values `image: {registry, repository, tag}` (`registry` and `tag` optional; an empty tag is the chart's `appVersion`) in a `values*.yaml` beside `Chart.yaml`",
      fence: 'yaml',
      pin: (reference, digest) => `tag: "${reference.image.tag ?? 'latest'}@${digest}"`
    }
  ],
  scan: (file, text, context) => {
    const chart = context.readBeside('Chart.yaml')
    // values files outside a chart are someone else's format
    if (chart === null) return emptyScan()
    return scanHelmValues(file, text, appVersionOf(chart))
  }
}

/** The `image:` maps of a values file. Pure. */
export function scanHelmValues(file: string, text: string, appVersion: string | null): SourceScan {
  return scanYaml(file, text, ({ document, lineCounter }, result) => {
    const visit = (node: Node | undefined, depth: number): void => {
      if (depth > MAX_DEPTH) return
      if (isSeq(node)) for (const item of node.items) visit(item as Node, depth + 1)
      if (!isMap(node)) return
      for (const pair of node.items) {
        const value = pair.value as Node | undefined
        const key = scalarText(pair.key as Node)
        if (key === 'image' && isMap(value) && field(document, value, 'repository') !== undefined)
          addImage(file, document, value, lineCounter, appVersion, result)
        else visit(value, depth + 1)
      }
    }
    visit(document.contents ?? undefined, 0)
  })
}

function addImage(
  file: string,
  document: Document,
  image: YAMLMap,
  lines: LineCounter,
  appVersion: string | null,
  result: SourceScan
): void {
  const get = (key: string) => field(document, image, key)
  const repository = scalarText(get('repository'))
  if (repository === null || repository.includes('{{')) return
  const registry = scalarText(get('registry'))
  const digest = scalarText(get('digest'))
  const tag = scalarText(get('tag')) || (digest ? null : appVersion)
  const written = `${registry ? `${registry}/` : ''}${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`
  // the line a pin changes: the tag's, else the repository's
  const at = get('tag') ?? get('repository')
  const { line, col } = positionOf(lines, at)
  result.references.push({
    file,
    line,
    column: col,
    kind: 'helm-values',
    source: excerpt(`image: ${written}`, 300),
    ...imageOrError(written)
  })
}

/** `appVersion:` of a Chart.yaml, without parsing the rest. */
function appVersionOf(chart: string): string | null {
  const match = /^appVersion[ \t]*:[ \t]*["']?([^"'\s#]+)/m.exec(chart)
  return match ? match[1] : null
}
