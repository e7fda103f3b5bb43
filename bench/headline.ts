// The headline, as a user meets it: `resolve` run as a process (Node start included), an
// anonymous registry, 200 tags in 50 repositories, 20 ms added to every request. Twice: over
// plain HTTP/1.1 (a fault proxy adds the latency), and over TLS offering HTTP/2, as public
// registries serve (a TLS front adds it). Peer in the same run: a loop of `skopeo inspect
// --raw`, one process per reference. Also printed: the latency bound for the concurrency the
// client uses, the same run with no latency added (the CPU floor of this machine, where client,
// proxy and registry share the cores), and the CPU time of each party.
// Registry and proxies run in a worker thread so the measured process shares no event loop.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { TlsFront } from '../__tests__/harness/tls-front.js'
import { measuredCli, type Measured } from './lib/measured-cli.js'

const REPOSITORIES = 50
const TAGS_PER_REPOSITORY = 4
const LATENCY_MS = 20
const run = promisify(execFile)

type Transport = 'plain' | 'tls'

interface Setup {
  names: Record<Transport, string[]>
  certPath: string
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

if (!isMainThread) await serve()
else await measure()

async function serve(): Promise<void> {
  const certs = mkdtempSync(join(tmpdir(), 'bid-bench-tls-'))
  const registry = new TestRegistry()
  await registry.start()
  const proxy = await new FaultProxy(registry.url).start()
  const front = await new TlsFront(registry.url, certs, 'h2').start()
  const pusher = new ImagePusher(registry)
  const names: Record<Transport, string[]> = { plain: [], tls: [] }
  for (let r = 0; r < REPOSITORIES; r++)
    for (let t = 0; t < TAGS_PER_REPOSITORY; t++) {
      await pusher.pushImage(`bench/repo-${r}`, { env: [`R=${r}`, `T=${t}`] }, { tag: `tag-${t}` })
      names.plain.push(`${proxy.host}/bench/repo-${r}:tag-${t}`)
      names.tls.push(`${front.host}/bench/repo-${r}:tag-${t}`)
    }
  const setup: Setup = { names, certPath: front.certPath, registryPid: registry.pid }
  parentPort!.postMessage(setup)
  parentPort!.on('message', async (command: { latency?: number; counts?: Transport }) => {
    if (command.latency !== undefined) {
      proxy.latencyMs = front.latencyMs = command.latency
      parentPort!.postMessage({})
    } else if (command.counts) {
      const seen = command.counts === 'plain' ? proxy.seen : front.seen
      const manifest = seen.filter(r => r.path.includes('/manifests/')).length
      const times = seen.map(r => r.at ?? 0)
      const counts: Counts = {
        manifest,
        other: seen.length - manifest,
        maxInFlight: command.counts === 'plain' ? proxy.maxInFlight : front.maxInFlight,
        connections: command.counts === 'plain' ? proxy.connections : front.connections,
        first: Math.min(...times),
        last: Math.max(...times)
      }
      proxy.reset()
      front.reset()
      parentPort!.postMessage(counts)
    } else {
      await proxy.stop()
      await front.stop()
      await registry.stop()
      rmSync(certs, { recursive: true, force: true })
      parentPort!.postMessage({})
      parentPort!.close()
    }
  })
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
    for (const transport of ['plain', 'tls'] as const) {
      const names = setup.names[transport]
      const env = transport === 'tls' ? { NODE_EXTRA_CA_CERTS: setup.certPath } : {}
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
      const bestOf3 = async () => {
        const runs = [await cli(), await cli(), await cli()]
        return runs.sort((a, b) => a.wall - b.wall)
      }

      await ask({ latency: 0 })
      await cli()
      const floor = (await bestOf3())[0]
      await ask({ latency: LATENCY_MS })
      await ask({ counts: transport })
      const spawned = Date.now()
      const first = await cli()
      const counts = await ask<Counts>({ counts: transport })
      const runs = [first, await cli(), await cli()].sort((a, b) => a.wall - b.wall)
      const best = runs[0]

      const peerStarted = performance.now()
      for (const name of names)
        await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])
      const peer = performance.now() - peerStarted
      await ask({ counts: transport })

      const c = counts.maxInFlight
      const bound = LATENCY_MS + Math.ceil(n / c) * LATENCY_MS
      const paid = best.wall - floor.wall
      console.log(
        transport === 'plain'
          ? '  plain HTTP/1.1 (a registry without TLS):'
          : '  TLS offering HTTP/2 (as Docker Hub, ghcr.io, quay.io and the clouds serve):'
      )
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
