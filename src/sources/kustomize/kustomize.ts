/**
 * Kustomize: a kustomization's `images:` overrides, applied to the manifests its `resources`
 * list (and to those of the kustomizations it lists, below theirs), as `kustomize build` does.
 * Each kustomization found is one that may be built; what it lists is read as it says.
 */
import { posix } from 'node:path'
import { isMap, isSeq } from 'yaml'
import {
  KUSTOMIZE_KIND,
  kubernetesSource,
  type ImageOverride,
  type KustomizeImages
} from '../kubernetes/kubernetes.js'
import { applyPatches, jsonPatchSource, patchesOf } from './patches.js'
import {
  excerpt,
  follow,
  isRemoteContext,
  type Source,
  type SourceScan,
  scanYaml
} from '../read/source.js'
import { pairOf, yamlKeySite, yamlScalarAt } from '../read/pin-site.js'
import { field, positionOf, scalarText } from '../read/yaml.js'

/** The names `kustomize build DIR` looks for, in its order. */
const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
const OVERRIDE_KEYS = ['newName', 'newTag', 'digest'] as const

export const kustomizeSource: Source<KustomizeImages> = {
  name: 'kustomization',
  patterns: KUSTOMIZATION_NAMES.map(name => `**/${name}`),
  // `kind:` is optional in a kustomization: what it lists says it too
  looksLike: text =>
    /^kind[ \t]*:[ \t]*["']?(Kustomization|Component)\b|^(resources|bases|components)[ \t]*:/m.test(
      text
    ),
  follows: [kubernetesSource, jsonPatchSource],
  kinds: [
    {
      name: KUSTOMIZE_KIND,
      description:
        'a Kustomize `images:` entry (`name`, `newName`, `newTag`, `digest`) that changes an image of the manifests its `resources` list',
      fence: 'yaml',
      locate: (file, reference) => {
        const at = yamlScalarAt(file, reference.line, reference.column)
        if ('unpinnable' in at) return at
        if (!at.map) return { unpinnable: 'its `images:` entry is not a map' }
        // an entry's digest alone drops the tag: the tag is written beside it, to keep watching it
        const tag =
          pairOf(at.map, 'newTag') || !reference.image.tag
            ? []
            : [`newTag: ${JSON.stringify(reference.image.tag)}`]
        return yamlKeySite(file, at.map, 'digest', tag)
      }
    }
  ],
  scan: (file, text, context) =>
    scanKustomization(file, text, context.passed ?? { layers: [] }, context.readBeside)
}

/** A kustomization's overrides, and the manifests and kustomizations it lists to follow. Pure. */
function scanKustomization(
  file: string,
  text: string,
  outer: KustomizeImages,
  /** A file relative to the kustomization; null when it does not exist. */
  read: (path: string) => string | null = () => null
): SourceScan {
  const exists = (path: string) => read(path) !== null
  return scanYaml(file, text, ({ document, lineCounter }, result) => {
    const root = document.contents
    if (!isMap(root)) return
    const images = field(document, root, 'images')
    const own: ImageOverride[] = []
    for (const entry of isSeq(images) ? images.items : []) {
      if (!isMap(entry)) continue
      const name = scalarText(field(document, entry, 'name'))
      if (name === null) continue
      const set: Pick<ImageOverride, (typeof OVERRIDE_KEYS)[number]> = {}
      for (const key of OVERRIDE_KEYS) {
        const value = scalarText(field(document, entry, key))
        if (value !== null) set[key] = value
      }
      // the reference is placed on what changes the image: its digest, tag or name
      const changed = OVERRIDE_KEYS.map(key => field(document, entry, key))
        .filter(Boolean)
        .at(-1)
      const { line, col } = positionOf(lineCounter, changed ?? entry)
      const shown = [`name: ${name}`, ...Object.entries(set).map(([k, v]) => `${k}: ${v}`)]
      own.push({ name, ...set, file, line, column: col, source: excerpt(shown.join(', '), 300) })
    }
    const layers = [own, ...outer.layers]
    // a patch is no resource: what it sets is reported where it sets it, this kustomization's
    // images applied after it, and the containers it changes are not the bases' any more
    const patched = [
      ...(outer.patched ?? []),
      ...applyPatches(file, text, patchesOf(document, root, lineCounter), { layers }, read, result)
    ]
    for (const key of ['resources', 'bases', 'components']) {
      const listed = field(document, root, key)
      for (const item of isSeq(listed) ? listed.items : []) {
        const path = scalarText(item)
        if (path === null) continue
        const { line } = positionOf(lineCounter, item)
        const by = `kustomization ${file}`
        // a URL or Git address, or kustomize's shorthand for a repository (`github.com/org/repo//dir?ref=v1`)
        if (
          isRemoteContext(path) ||
          /^(github\.com|gitlab\.com|bitbucket\.org)\/|\?ref=/i.test(path)
        ) {
          result.notices.push({
            file,
            line,
            message: `${excerpt(path)}: a remote resource, not scanned`
          })
        } else if (/\.(ya?ml|json)$/i.test(path)) {
          result.follows.push(
            follow(kubernetesSource, { layers, patched }, { path, verb: 'builds', by, line })
          )
        } else {
          // a directory: the kustomization in it, by the names kustomize looks for
          const names = KUSTOMIZATION_NAMES.map(name => posix.join(path, name))
          const found = names.find(exists) ?? names[0]
          const chain = [...(outer.via ?? []), file]
          const target = posix.normalize(posix.join(posix.dirname(file), found))
          if (chain.includes(target)) {
            // kustomize refuses it too: a kustomization cannot be built inside itself
            result.errors.push({
              file,
              line,
              message: `${excerpt(path)} lists a kustomization already being built (${[...chain.slice(chain.indexOf(target)), target].join(' → ')}); not followed`
            })
            continue
          }
          result.follows.push(
            follow(
              kustomizeSource,
              { layers, patched, via: chain },
              { path: found, verb: 'builds', by, line }
            )
          )
        }
      }
    }
  })
}
