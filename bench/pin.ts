// Pinning speed: a tree of 2,000 Dockerfiles (the corpus's, repeated) and 200 Compose files,
// every reference rewritten to tag@digest where it is written (quotes, ARGs and comments
// kept, each site located on the file's own text), against a peer measured in the same
// run: one regular expression per line that appends the digest after `FROM word` and
// `image: word`, the rewrite simple pinning scripts do. Target: placing and writing the pins
// costs less CPU than scanning the tree did.
import { createHash } from 'node:crypto'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pinReferences } from '../src/pipeline/pin.js'
import { formatReference, type ImageReference } from '../src/reference/reference.js'
import { discover } from '../src/sources/discover.js'
import { bestOfFive, cpuMs, listDockerfiles } from './lib/cpu.js'

const FILES = 2000
const COMPOSE_FILES = 200
const corpus = join(process.cwd(), '__tests__/fixtures/corpus')
const dockerfiles = listDockerfiles(corpus).map(f => readFileSync(f, 'utf8'))
const compose = readFileSync(join(corpus, 'compose.yml'), 'utf8')
const template = mkdtempSync(join(tmpdir(), 'bid-bench-pin-'))
for (let i = 0; i < FILES; i++) {
  mkdirSync(join(template, `svc-${i}`))
  writeFileSync(join(template, `svc-${i}`, 'Dockerfile'), dockerfiles[i % dockerfiles.length])
  if (i < COMPOSE_FILES) writeFileSync(join(template, `svc-${i}`, 'compose.yaml'), compose)
}

const digestOf = (image: ImageReference) => ({
  digest: `sha256:${createHash('sha256').update(formatReference(image)).digest('hex')}`
})

/** A fresh copy of the tree for each run: pinning changes it. */
function copy(): string {
  const root = mkdtempSync(join(tmpdir(), 'bid-bench-pin-run-'))
  cpSync(template, root, { recursive: true })
  return root
}

async function ours(): Promise<{ cpu: number; wall: number; pinned: number; pinning: number }> {
  const root = copy()
  const cpu = process.cpuUsage()
  const wall = performance.now()
  const found = await discover({
    cwd: root,
    select: { paths: ['.'] },
    buildArgs: {},
    targetPlatforms: [],
    buildPlatform: 'linux/amd64',
    variables: { MAILPIT_TAG: 'v1.21' },
    secrets: []
  })
  const scanned = process.cpuUsage()
  const { results } = pinReferences(root, found.references, digestOf, true)
  const measured = { cpu: cpuMs(cpu), wall: performance.now() - wall, pinning: cpuMs(scanned) }
  rmSync(root, { recursive: true, force: true })
  return { ...measured, pinned: results.filter(r => r.status === 'pinned').length }
}

async function peer(): Promise<{ cpu: number; wall: number; pinned: number; pinning: number }> {
  const root = copy()
  const cpu = process.cpuUsage()
  const wall = performance.now()
  let pinned = 0
  for (const dir of readdirSync(root).filter(d => d.startsWith('svc-')))
    for (const name of ['Dockerfile', 'compose.yaml']) {
      const path = join(root, dir, name)
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch {
        continue
      }
      const rewritten = text.replace(
        /^(\s*(?:FROM\s+(?:--\S+\s+)*|image:\s*))([^\s@#"']+)/gim,
        (_, head: string, image: string) => {
          pinned++
          return `${head}${image}@sha256:${createHash('sha256').update(image).digest('hex')}`
        }
      )
      writeFileSync(path, rewritten)
    }
  const measured = { cpu: cpuMs(cpu), wall: performance.now() - wall }
  rmSync(root, { recursive: true, force: true })
  return { ...measured, pinning: measured.cpu, pinned }
}

// the first run is what one CLI invocation pays (cold JIT); then best of 5
const coldOurs = await ours()
const coldPeer = await peer()
const a = await bestOfFive(ours)
const b = await bestOfFive(peer)
rmSync(template, { recursive: true, force: true })

console.log(
  `pin: ${FILES} Dockerfiles (${dockerfiles.length} distinct corpus files, repeated) and ${COMPOSE_FILES} Compose files, every reference written as tag@digest`
)
console.log(
  `  base-image-drift (discover + scan + locate each site + write):  ${a.cpu.toFixed(0)} ms CPU (${a.pinning.toFixed(0)} placing and writing), ${a.wall.toFixed(0)} ms wall, ${a.pinned} references pinned`
)
console.log(
  `  peer: one regular expression a line (no ARGs, stages or quotes): ${b.cpu.toFixed(0)} ms CPU, ${b.wall.toFixed(0)} ms wall, ${b.pinned} lines rewritten`
)
console.log(
  `  first (cold) run: ours ${coldOurs.cpu.toFixed(0)} ms CPU, peer ${coldPeer.cpu.toFixed(0)} ms CPU`
)
console.log(
  `  ratio CPU ours/peer: ${(a.cpu / b.cpu).toFixed(2)} warm, ${(coldOurs.cpu / coldPeer.cpu).toFixed(2)} cold; placing and writing ${a.pinning.toFixed(0)} ms against the scan's ${(a.cpu - a.pinning).toFixed(0)} ms: ${a.pinning < a.cpu - a.pinning ? 'met' : 'MISSED'} (warm)`
)
