// The headline, as a user meets it: `resolve` run as a process (Node start included), an
// anonymous registry, 200 tags in 50 repositories, 20 ms added to every request. Twice: over
// plain HTTP/1.1 (a fault proxy adds the latency), and over TLS offering HTTP/2, as public
// registries serve (a TLS front adds it). Peer in the same run: a loop of `skopeo inspect
// --raw`, one process per reference. Also printed: the latency bound for the concurrency the
// client uses, the same run with no latency added (the CPU floor of this machine, where client,
// proxy and registry share the cores), and the CPU time of each party.
// Registry and proxies run in a worker thread so the measured process shares no event loop.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { TlsFront } from '../__tests__/harness/tls-front.js'
import { MEDIA_TYPES } from '../src/registry/manifest.js'
import { measuredCli, measuredNode, type Measured } from './lib/measured-cli.js'

const REPOSITORIES = 50
const TAGS_PER_REPOSITORY = 4
const LATENCY_MS = 20
const run = promisify(execFile)
const TITLES = {
  plain: 'plain HTTP/1.1 (a registry without TLS)',
  'tls-h1': 'TLS with HTTP/1.1 only',
  'tls-h2': 'TLS offering HTTP/2 (as Docker Hub, ghcr.io, quay.io and the clouds serve)'
}

type Transport = 'plain' | 'tls-h1' | 'tls-h2'

interface Setup {
  names: Record<Transport, string[]>
  certPaths: Record<Exclude<Transport, 'plain'>, string>
  registryPid: number
}

interface Counts {
  manifest: number
  other: number
  maxInFlight: number
  connections: number
  first: number
  last: number
}

// The floor of any client built on undici: the same HEADs, nothing else, at the same concurrency.
const BARE_UNDICI = `
import { readFileSync } from 'node:fs'
const { Agent, request } = await import(process.env.UNDICI)
const { names, concurrency, scheme, h2 } = JSON.parse(readFileSync('bare.json', 'utf8'))
const agent = h2
  ? new Agent({ allowH2: true, connections: 1, pipelining: concurrency })
  : new Agent({ connections: concurrency })
let next = 0
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < names.length) {
    const name = names[next++]
    const slash = name.indexOf('/'), colon = name.lastIndexOf(':')
    const url = scheme + '://' + name.slice(0, slash) + '/v2' + name.slice(slash, colon) + '/manifests/' + name.slice(colon + 1)
    const res = await request(url, { method: 'HEAD', dispatcher: agent, reset: false, headers: { accept: process.env.ACCEPT } })
    await res.body.dump()
    if (!res.headers['docker-content-digest']) throw new Error(url + ': no digest')
  }
}))
await agent.close()
`

if (!isMainThread) await serve()
else await measure()

async function serve(): Promise<void> {
  const certs = mkdtempSync(join(tmpdir(), 'bid-bench-tls-'))
  mkdirSync(join(certs, 'h1'))
  mkdirSync(join(certs, 'h2'))
  const registry = new TestRegistry()
  await registry.start()
  const proxy = await new FaultProxy(registry.url).start()
  const fronts = {
    'tls-h1': await new TlsFront(registry.url, join(certs, 'h1'), 'http/1.1').start(),
    'tls-h2': await new TlsFront(registry.url, join(certs, 'h2'), 'h2').start()
  }
  const pusher = new ImagePusher(registry)
  const names: Record<Transport, string[]> = { plain: [], 'tls-h1': [], 'tls-h2': [] }
  for (let r = 0; r < REPOSITORIES; r++)
    for (let t = 0; t < TAGS_PER_REPOSITORY; t++) {
      await pusher.pushImage(`bench/repo-${r}`, { env: [`R=${r}`, `T=${t}`] }, { tag: `tag-${t}` })
      names.plain.push(`${proxy.host}/bench/repo-${r}:tag-${t}`)
      for (const [transport, front] of Object.entries(fronts))
        names[transport as Transport].push(`${front.host}/bench/repo-${r}:tag-${t}`)
    }
  const setup: Setup = {
    names,
    certPaths: { 'tls-h1': fronts['tls-h1'].certPath, 'tls-h2': fronts['tls-h2'].certPath },
    registryPid: registry.pid
  }
  parentPort!.postMessage(setup)
  parentPort!.on('message', async (command: { latency?: number; counts?: Transport }) => {
    if (command.latency !== undefined) {
      proxy.latencyMs = fronts['tls-h1'].latencyMs = fronts['tls-h2'].latencyMs = command.latency
      parentPort!.postMessage({})
    } else if (command.counts) {
      const counter = command.counts === 'plain' ? proxy : fronts[command.counts]
      const seen = counter.seen
      const manifest = seen.filter(r => r.path.includes('/manifests/')).length
      const times = seen.map(r => r.at ?? 0)
      const counts: Counts = {
        manifest,
        other: seen.length - manifest,
        maxInFlight: counter.maxInFlight,
        connections: counter.connections,
        first: Math.min(...times),
        last: Math.max(...times)
      }
      proxy.reset()
      for (const front of Object.values(fronts)) front.reset()
      parentPort!.postMessage(counts)
    } else {
      await proxy.stop()
      for (const front of Object.values(fronts)) await front.stop()
      await registry.stop()
      rmSync(certs, { recursive: true, force: true })
      parentPort!.postMessage({})
      parentPort!.close()
    }
  })
}

/** Three runs one after another (the first may be given), fastest first. */
async function threeRuns<T extends { wall: number }>(
  measure: () => Promise<T>,
  first?: T
): Promise<T[]> {
  const runs = [first ?? (await measure()), await measure(), await measure()]
  return runs.sort((a, b) => a.wall - b.wall)
}

async function measure(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url))
  const ask = <T>(command: object) =>
    new Promise<T>(resolve => {
      worker.once('message', resolve)
      worker.postMessage(command)
    })
  const setup = await new Promise<Setup>(resolve => worker.once('message', resolve))
  const dir = mkdtempSync(join(tmpdir(), 'bid-bench-headline-'))
  const registryCpuMs = () => {
    const fields = readFileSync(`/proc/${setup.registryPid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  }
  const n = setup.names.plain.length
  try {
    const start = performance.now()
    await run(process.execPath, ['-e', '0'])
    const nodeStart = performance.now() - start
    console.log(
      `headline: resolve as a process, ${n} tags in ${REPOSITORIES} repositories, anonymous, +${LATENCY_MS} ms per request; ${cpus().length} cores shared by client, proxy and registry; Node itself starts in ${nodeStart.toFixed(0)} ms`
    )
    for (const transport of ['plain', 'tls-h1', 'tls-h2'] as const) {
      const names = setup.names[transport]
      const env = transport === 'plain' ? {} : { NODE_EXTRA_CA_CERTS: setup.certPaths[transport] }
      writeFileSync(join(dir, 'Dockerfile'), names.map(name => `FROM ${name}`).join('\n') + '\n')
      const cli = async (): Promise<Measured & { registryMs: number; benchMs: number }> => {
        const registryBefore = registryCpuMs()
        const benchBefore = process.cpuUsage()
        const measured = await measuredCli(dir, ['resolve', '--json', 'Dockerfile'], env)
        const bench = process.cpuUsage(benchBefore)
        const resolved = JSON.parse(measured.stdout).references.filter(
          (r: { digest: string | null }) => r.digest
        ).length
        if (resolved !== n) throw new Error(`resolved ${resolved} of ${n}`)
        return {
          ...measured,
          registryMs: registryCpuMs() - registryBefore,
          benchMs: (bench.user + bench.system) / 1000
        }
      }

      await ask({ latency: 0 })
      await cli()
      const [floor] = await threeRuns(cli)
      await ask({ latency: LATENCY_MS })
      await ask({ counts: transport })
      const spawned = Date.now()
      const first = await cli()
      const counts = await ask<Counts>({ counts: transport })
      const runs = await threeRuns(cli, first)
      const best = runs[0]

      writeFileSync(join(dir, 'bare.mjs'), BARE_UNDICI)
      writeFileSync(
        join(dir, 'bare.json'),
        JSON.stringify({
          names,
          concurrency: counts.maxInFlight,
          scheme: transport === 'plain' ? 'http' : 'https',
          h2: transport === 'tls-h2'
        })
      )
      const bareEnv = {
        ...env,
        UNDICI: resolve('node_modules/undici/index.js'),
        ACCEPT: Object.values(MEDIA_TYPES).join(', ')
      }
      const [bare] = await threeRuns(() => measuredNode(dir, join(dir, 'bare.mjs'), [], bareEnv))

      const peerStarted = performance.now()
      for (const name of names)
        await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])
      const peer = performance.now() - peerStarted
      await ask({ counts: transport })

      const c = counts.maxInFlight
      const bound = LATENCY_MS + Math.ceil(n / c) * LATENCY_MS
      const paid = best.wall - floor.wall
      console.log(`  ${TITLES[transport]}:`)
      console.log(
        `    base-image-drift: ${best.wall.toFixed(0)} ms wall (best of 3; median ${runs[1].wall.toFixed(0)} ms); peer, a skopeo inspect --raw loop: ${peer.toFixed(0)} ms`
      )
      console.log(`    speed: ${(peer / best.wall).toFixed(1)}x the skopeo loop (target >= 20x)`)
      console.log(
        `    concurrency used C = ${c} on ${counts.connections} connection(s); latency bound L + ceil(N/C)·L = ${bound} ms; ours minus Node's start is ${((best.wall - nodeStart) / bound).toFixed(2)}x it (target <= 1.2x)`
      )
      console.log(
        `    with no latency added: ${floor.wall.toFixed(0)} ms wall, so the ${LATENCY_MS} ms per request costs ${paid.toFixed(0)} ms: ${(paid / bound).toFixed(2)}x the latency bound`
      )
      console.log(
        `    CPU of one run (no latency): client ${floor.cpuMs.toFixed(0)} ms (${((floor.cpuMs * 1000) / n).toFixed(0)} µs per reference, start included), registry ${floor.registryMs} ms, proxy ${floor.benchMs.toFixed(0)} ms; the sum over ${cpus().length} cores is ${((floor.cpuMs + floor.registryMs + floor.benchMs) / cpus().length).toFixed(0)} ms`
      )
      console.log(
        `    bare undici, the same HEADs at C = ${c} and nothing else (best of 3, with latency): ${bare.wall.toFixed(0)} ms wall, ${bare.cpuMs.toFixed(0)} ms CPU; ours: ${best.wall.toFixed(0)} ms wall, ${best.cpuMs.toFixed(0)} ms CPU`
      )
      console.log(
        `    timeline of the first run: first request at ${counts.first - spawned} ms, last request sent at ${counts.last - spawned} ms, process gone at ${first.wall.toFixed(0)} ms`
      )
      console.log(
        `    requests per reference: ${(counts.manifest / n).toFixed(3)} manifest, ${(counts.other / n).toFixed(3)} other (target 1 manifest)`
      )
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await ask({})
    await worker.terminate()
  }
}
