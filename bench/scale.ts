// Scale: `resolve` as a process over a monorepo's worth of images — 1,000 then 5,000 tags
// (in 100 / 500 repositories, 10 tags each) named by 400 / 2,000 Dockerfiles, on the real
// registry with no added latency. Wall time, requests per reference, CPU time per reference
// and peak memory (VmHWM of the process), side by side, to show the growth is linear.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { measuredCli } from './lib/measured-cli.js'

const TAGS_PER_REPOSITORY = 10

const registry = new TestRegistry()
await registry.start()
const proxy = await new FaultProxy(registry.url).start()
const pusher = new ImagePusher(registry)
const names: string[] = []
let pushedRepositories = 0
/** Repositories up to `count`, each with its tags (one image, re-tagged: what matters is the tags). */
async function pushUpTo(count: number) {
  for (; pushedRepositories < count; pushedRepositories++) {
    const repo = `scale/repo-${pushedRepositories}`
    const image = await pusher.pushImage(repo, { env: [`R=${pushedRepositories}`] }, { tag: 't0' })
    names.push(`${proxy.host}/${repo}:t0`)
    for (let t = 1; t < TAGS_PER_REPOSITORY; t++) {
      await pusher.tag(repo, `t${t}`, image.digest)
      names.push(`${proxy.host}/${repo}:t${t}`)
    }
  }
}

async function measure(tags: number, dockerfiles: number) {
  await pushUpTo(tags / TAGS_PER_REPOSITORY)
  const dir = mkdtempSync(join(tmpdir(), 'bid-bench-scale-'))
  try {
    const perFile = Math.ceil(tags / dockerfiles)
    for (let f = 0; f < dockerfiles; f++) {
      mkdirSync(join(dir, `svc-${f}`))
      const lines = names.slice(f * perFile, (f + 1) * perFile).map((n, i) => `FROM ${n} AS s${i}`)
      writeFileSync(join(dir, `svc-${f}`, 'Dockerfile'), lines.join('\n') + '\n')
    }
    proxy.reset()
    const spawned = Date.now()
    const ran = await measuredCli(dir, ['resolve', '--json', '.'])
    const firstRequest = Math.min(...proxy.seen.map(r => r.at ?? Infinity)) - spawned
    const references = JSON.parse(ran.stdout).references as { digest: string | null }[]
    const resolved = references.filter(r => r.digest).length
    if (resolved !== tags) throw new Error(`resolved ${resolved} of ${tags}`)
    const manifest = proxy.seen.filter(r => r.path.includes('/manifests/')).length
    const { wall, cpuMs, rssMiB } = ran
    return { tags, dockerfiles, wall, cpuMs, rssMiB, perRef: manifest / tags, firstRequest }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

try {
  const small = await measure(1000, 400)
  const large = await measure(5000, 2000)
  console.log('scale: resolve as a process, no added latency')
  for (const r of [small, large])
    console.log(
      `  ${r.tags} tags in ${r.tags / TAGS_PER_REPOSITORY} repositories, ${r.dockerfiles} Dockerfiles: ${r.wall.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU (${((r.cpuMs * 1000) / r.tags).toFixed(0)} µs per reference), peak RSS ${r.rssMiB.toFixed(0)} MiB (target < 150), ${r.perRef.toFixed(3)} manifest requests per reference; the first request left ${r.firstRequest} ms after the start, once every file was read`
    )
  console.log(
    `  growth for 5x the references: wall ${(large.wall / small.wall).toFixed(1)}x, CPU ${(large.cpuMs / small.cpuMs).toFixed(1)}x, peak RSS ${(large.rssMiB / small.rssMiB).toFixed(1)}x (linear: at most 5x)`
  )
} finally {
  await proxy.stop()
  await registry.stop()
}
