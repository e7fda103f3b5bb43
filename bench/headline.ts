// The headline, as a user meets it: `resolve` run as a process (Node start included), an
// anonymous registry, 200 tags in 50 repositories, 20 ms added to every request by a proxy.
// Peer in the same run: a loop of `skopeo inspect --raw`, one process per reference. Also
// printed: the latency bound for the concurrency the client uses, and requests per reference.
// The proxy runs in a worker thread so the measured process shares no event loop with it.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'

const REPOSITORIES = 50
const TAGS_PER_REPOSITORY = 4
const LATENCY_MS = 20
const run = promisify(execFile)

if (!isMainThread) await serve()
else await measure()

async function serve(): Promise<void> {
  const registry = new TestRegistry()
  await registry.start()
  const proxy = await new FaultProxy(registry.url).start()
  const pusher = new ImagePusher(registry)
  const names: string[] = []
  for (let r = 0; r < REPOSITORIES; r++)
    for (let t = 0; t < TAGS_PER_REPOSITORY; t++) {
      await pusher.pushImage(`bench/repo-${r}`, { env: [`R=${r}`, `T=${t}`] }, { tag: `tag-${t}` })
      names.push(`${proxy.host}/bench/repo-${r}:tag-${t}`)
    }
  proxy.latencyMs = LATENCY_MS
  parentPort!.postMessage({ names })
  parentPort!.on('message', async (command: string) => {
    if (command === 'counts') {
      const manifest = proxy.seen.filter(r => r.path.includes('/manifests/')).length
      const times = proxy.seen.map(r => r.at ?? 0)
      parentPort!.postMessage({
        manifest,
        other: proxy.seen.length - manifest,
        maxInFlight: proxy.maxInFlight,
        first: Math.min(...times),
        last: Math.max(...times)
      })
      proxy.reset()
    } else {
      await proxy.stop()
      await registry.stop()
      parentPort!.postMessage({})
      parentPort!.close()
    }
  })
}

async function measure(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url))
  const ask = <T>(command: string) =>
    new Promise<T>(resolve => {
      worker.once('message', resolve)
      worker.postMessage(command)
    })
  const { names } = await new Promise<{ names: string[] }>(resolve =>
    worker.once('message', resolve)
  )
  const dir = mkdtempSync(join(tmpdir(), 'bid-bench-headline-'))
  try {
    writeFileSync(join(dir, 'Dockerfile'), names.map(n => `FROM ${n}`).join('\n') + '\n')
    const cli = async () => {
      const started = performance.now()
      const ran = await run(
        process.execPath,
        [
          ...(process.env.BID_CPU_PROF
            ? ['--cpu-prof', '--cpu-prof-dir', process.env.BID_CPU_PROF]
            : []),
          resolve('dist/cli.js'),
          'resolve',
          '--json',
          'Dockerfile'
        ],
        {
          cwd: dir,
          env: { PATH: process.env.PATH, HOME: dir }
        }
      )
      const wall = performance.now() - started
      const resolved = JSON.parse(ran.stdout).references.filter(
        (r: { digest: string | null }) => r.digest
      ).length
      if (resolved !== names.length) throw new Error(`resolved ${resolved} of ${names.length}`)
      return wall
    }
    await ask('counts')
    const spawned = Date.now()
    const first = await cli()
    const counts = await ask<{
      manifest: number
      other: number
      maxInFlight: number
      first: number
      last: number
    }>('counts')
    const walls = [first, await cli(), await cli()].sort((a, b) => a - b)
    await ask('counts')
    const start = performance.now()
    await run(process.execPath, ['-e', '0'])
    const nodeStart = performance.now() - start

    const peerStarted = performance.now()
    for (const name of names)
      await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])
    const peer = performance.now() - peerStarted

    const n = names.length
    const c = counts.maxInFlight
    const bound = LATENCY_MS + Math.ceil(n / c) * LATENCY_MS
    console.log(
      `headline: resolve as a process, ${n} tags in ${REPOSITORIES} repositories, anonymous, +${LATENCY_MS} ms per request`
    )
    console.log(
      `  base-image-drift: ${walls[0].toFixed(0)} ms wall (best of 3; median ${walls[1].toFixed(0)} ms), Node itself starts in ${nodeStart.toFixed(0)} ms`
    )
    console.log(`  peer, a skopeo inspect --raw loop: ${peer.toFixed(0)} ms wall`)
    console.log(`  speed: ${(peer / walls[0]).toFixed(1)}x the skopeo loop (target >= 20x)`)
    console.log(
      `  concurrency used C = ${c}; latency bound L + ceil(N/C)·L = ${bound} ms; ours minus Node's start is ${((walls[0] - nodeStart) / bound).toFixed(2)}x it (target <= 1.2x)`
    )
    console.log(
      `  timeline of the first run: first request at ${counts.first - spawned} ms, last request sent at ${counts.last - spawned} ms, process gone at ${first.toFixed(0)} ms`
    )
    console.log(
      `  requests per reference: ${(counts.manifest / n).toFixed(3)} manifest, ${(counts.other / n).toFixed(3)} other (target 1 manifest)`
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await ask('stop')
    await worker.terminate()
  }
}
