// Scanning speed: a tree of 2,000 Dockerfiles (the corpus's, repeated), scanned by
// base-image-drift and, as a peer, parsed by dockerfile-ast (the parser of VS Code's
// Dockerfile language server), in the same run. Target: under 1 s of CPU for the tree.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DockerfileParser } from 'dockerfile-ast'
import { discover } from '../src/sources/discover.js'
import { bestOfFive, cpuMs, listDockerfiles } from './lib/cpu.js'

const FILES = 2000
/** Workflows beside the Dockerfiles (a large monorepo's CI), each with a matrix, services and a build step. */
const WORKFLOWS = 20
const corpus = join(process.cwd(), '__tests__/fixtures/corpus')
const sources = listDockerfiles(corpus).map(f => readFileSync(f, 'utf8'))
const root = mkdtempSync(join(tmpdir(), 'bid-bench-scan-'))
for (let i = 0; i < FILES; i++) {
  const dir = join(root, `svc-${i}`)
  mkdirSync(dir)
  writeFileSync(join(dir, 'Dockerfile'), sources[i % sources.length])
}
// and a Bake file in every hundredth service: a matrix of two builds of its Dockerfile
for (let i = 0; i < FILES; i += 100)
  writeFileSync(
    join(root, `svc-${i}`, 'docker-bake.hcl'),
    `variable "TAG" {\n  default = "1"\n}\ntarget "app" {\n  name = "app-\${v}"\n  matrix = { v = ["a", "b"] }\n  args = { V = v, TAG = "\${TAG}" }\n  contexts = { base = "docker-image://alpine:3.20" }\n}\n`
  )
const workflow = readFileSync(join(corpus, '.github/workflows/ci.yml'), 'utf8')
mkdirSync(join(root, '.github/workflows'), { recursive: true })
for (let i = 0; i < WORKFLOWS; i++)
  writeFileSync(
    join(root, '.github/workflows', `svc-${i}.yml`),
    workflow.replace('context: python-api', `context: svc-${i}`)
  )

async function ours(): Promise<{ cpu: number; wall: number; references: number }> {
  const cpu = process.cpuUsage()
  const wall = performance.now()
  const result = await discover({
    cwd: root,
    select: { paths: ['.'] },
    buildArgs: {},
    targetPlatforms: [],
    buildPlatform: 'linux/amd64',
    variables: {},
    secrets: []
  })
  return { cpu: cpuMs(cpu), wall: performance.now() - wall, references: result.references.length }
}

async function peer(): Promise<{ cpu: number; wall: number; references: number }> {
  const cpu = process.cpuUsage()
  const wall = performance.now()
  let references = 0
  for (const dir of readdirSync(root).filter(d => d.startsWith('svc-'))) {
    const content = await readFile(join(root, dir, 'Dockerfile'), 'utf8')
    references += DockerfileParser.parse(content).getFROMs().length
  }
  return { cpu: cpuMs(cpu), wall: performance.now() - wall, references }
}

// the first run is what one CLI invocation or action step pays (cold JIT); then best of 5
const coldOurs = await ours()
const coldPeer = await peer()
const a = await bestOfFive(ours)
const b = await bestOfFive(peer)
rmSync(root, { recursive: true, force: true })

console.log(
  `scan: ${FILES} Dockerfiles (${sources.length} distinct corpus files, repeated), ${WORKFLOWS} workflows and ${FILES / 100} Bake files that build some of them (the peer reads the Dockerfiles only)`
)
console.log(
  `  base-image-drift scan (discover + read + scan + expand + normalize): ${a.cpu.toFixed(0)} ms CPU, ${a.wall.toFixed(0)} ms wall, ${a.references} references`
)
console.log(
  `  peer dockerfile-ast (read + parse + getFROMs, no expansion):          ${b.cpu.toFixed(0)} ms CPU, ${b.wall.toFixed(0)} ms wall, ${b.references} FROMs`
)
console.log(
  `  first (cold) run: ours ${coldOurs.cpu.toFixed(0)} ms CPU, peer ${coldPeer.cpu.toFixed(0)} ms CPU`
)
console.log(
  `  ratio CPU ours/peer: ${(a.cpu / b.cpu).toFixed(2)} warm, ${(coldOurs.cpu / coldPeer.cpu).toFixed(2)} cold; target < 1000 ms CPU: ${coldOurs.cpu < 1000 ? 'met' : 'MISSED'} (cold run)`
)
