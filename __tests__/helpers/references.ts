import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { discover, type Discovered, type DiscoverOptions } from '../../src/sources/discover.js'
import { DEFAULT_PATTERNS } from '../../src/sources/index.js'
import { parseReference } from '../../src/reference/reference.js'
import { dockerfileSource, type DockerfileBuild } from '../../src/sources/dockerfile/dockerfile.js'
import type { FoundReference, SourceScan } from '../../src/sources/read/source.js'

/** A reference as the scanner would report it from `FROM image` on line `line` of a Dockerfile. */
export function found(image: string, line = 1, file = 'Dockerfile'): FoundReference {
  return {
    file,
    line,
    column: 1,
    kind: 'from',
    source: `FROM ${image}`,
    image: parseReference(image),
    error: null
  }
}

/** The Dockerfiles a scan follows to build, with what each build passes, as a reader checks them. */
export function builds(scan: SourceScan) {
  return scan.follows
    .filter(f => f.source === dockerfileSource)
    .map(f => {
      const passed = f.passed as DockerfileBuild
      return {
        dockerfile: f.path,
        ...(f.fromRoot ? { fromRoot: true } : {}),
        buildArgs: passed.buildArgs,
        by: f.by,
        line: f.line,
        ...(passed.contexts ? { contexts: passed.contexts } : {}),
        ...(passed.localImages ? { localImages: passed.localImages } : {})
      }
    })
}

/** Every file of a directory, found and read as the action's default `files` do, for linux/amd64. */
export function discoverDirectory(
  root: string,
  differs: Partial<DiscoverOptions> = {}
): Promise<Discovered> {
  return discover({
    cwd: root,
    select: { globs: DEFAULT_PATTERNS },
    buildArgs: {},
    targetPlatforms: ['linux/amd64'],
    buildPlatform: 'linux/amd64',
    variables: {},
    secrets: [],
    ...differs
  })
}

/** Writes a repository's files under `root`, folders and all: `{ 'k8s/web.yaml': text }`. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
}
