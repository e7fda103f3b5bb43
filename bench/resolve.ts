// Resolving speed and frugality: 200 distinct tags in 50 repositories on the real registry
// with token auth, behind proxies that add 20 ms to every request (registry and token
// service alike). base-image-drift's resolver against a loop of `skopeo inspect --raw`
// over the same references, measured in the same run. The proxies and token server run in
// a worker thread, so they do not share an event loop with the client being measured.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { RegistryClient } from '../src/registry/remote.js'
import { resolveAll } from '../src/resolve/resolve.js'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { found } from '../__tests__/helpers/references.js'

const REPOSITORIES = 50
const TAGS_PER_REPOSITORY = 4
const LATENCY_MS = 20
// the client's starting per-registry limit (it grows by one per limit of good answers)
const PER_REGISTRY = 32

type Command = { id: number; name: 'counts' | 'stop' | 'no-latency' | 'latency' }
interface Counts {
  manifest: number
  otherRegistry: number
  token: number
}

if (!isMainThread) await serve()
else await measure()

/** Worker: the registry, its token server, and a latency proxy in front of each. */
async function serve(): Promise<void> {
  let tokenProxy: FaultProxy | null = null
  const registry = new TestRegistry({
    auth: 'token',
    realm: async tokenServer => {
      tokenProxy = await new FaultProxy(`http://127.0.0.1:${tokenServer.port}`).start()
      return `http://${tokenProxy.host}/token`
    }
  })
  await registry.start()
  const proxy = await new FaultProxy(registry.url).start()
  const pusher = new ImagePusher(registry)
  const names: string[] = []
  for (let r = 0; r < REPOSITORIES; r++) {
    for (let t = 0; t < TAGS_PER_REPOSITORY; t++) {
      await pusher.pushImage(`bench/repo-${r}`, { env: [`R=${r}`, `T=${t}`] }, { tag: `tag-${t}` })
      names.push(`${proxy.host}/bench/repo-${r}:tag-${t}`)
    }
  }
  proxy.latencyMs = LATENCY_MS
  tokenProxy!.latencyMs = LATENCY_MS
  parentPort!.postMessage({ names })
  parentPort!.on('message', async (command: Command) => {
    if (command.name === 'no-latency' || command.name === 'latency') {
      proxy.latencyMs = tokenProxy!.latencyMs = command.name === 'latency' ? LATENCY_MS : 0
      parentPort!.postMessage({ id: command.id })
    } else if (command.name === 'counts') {
      const manifest = proxy.seen.filter(r => r.path.includes('/manifests/')).length
      const counts: Counts = {
        manifest,
        otherRegistry: proxy.seen.length - manifest,
        token: tokenProxy!.seen.length
      }
      proxy.reset()
      tokenProxy!.reset()
      parentPort!.postMessage({ id: command.id, counts })
    } else {
      await proxy.stop()
      await tokenProxy!.stop()
      await registry.stop()
      parentPort!.postMessage({ id: command.id })
      parentPort!.close()
    }
  })
}

async function measure(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url))
  const { names } = await new Promise<{ names: string[] }>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  let nextId = 0
  const ask = (name: Command['name']) =>
    new Promise<{ counts?: Counts }>(resolve => {
      const id = nextId++
      const listener = (message: { id: number; counts?: Counts }) => {
        if (message.id !== id) return
        worker.off('message', listener)
        resolve(message)
      }
      worker.on('message', listener)
      worker.postMessage({ id, name })
    })
  try {
    const references = names.map((image, i) => found(image, i + 1))
    const resolveOnce = async () => {
      const client = new RegistryClient({ timeoutMs: 30_000 })
      const started = performance.now()
      const results = await resolveAll(references, client)
      const wall = performance.now() - started
      await client.close()
      const failed = [...results.values()].filter(r => r.error)
      if (failed.length > 0) throw new Error(`resolve failed: ${failed[0].error}`)
      return { wall, tokensFetched: client.stats.tokensFetched }
    }
    // the same work with no latency added: what this machine's CPUs (client, proxies,
    // token service and registry on 2 cores) need, whatever the network
    await ask('no-latency')
    const floor = (await resolveOnce()).wall
    await ask('latency')
    await ask('counts') // forget the requests of setting up
    const { wall: first, tokensFetched } = await resolveOnce()
    const oursCounts = (await ask('counts')).counts!
    // this machine is noisy: the best and the median of three runs, each with a new client
    const walls = [first, (await resolveOnce()).wall, (await resolveOnce()).wall].sort(
      (a, b) => a - b
    )
    const [ours, median] = [walls[0], walls[1]]
    await ask('counts')

    // peer: one skopeo process per reference, as a shell loop would do it
    const run = promisify(execFile)
    const peerStarted = performance.now()
    for (const name of names)
      await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])
    const peer = performance.now() - peerStarted
    const peerCounts = (await ask('counts')).counts!

    const n = names.length
    const perRef = (count: number) => (count / n).toFixed(3)
    const bound = 2 * LATENCY_MS + Math.ceil(n / PER_REGISTRY) * LATENCY_MS
    console.log(
      `resolve: ${n} tags in ${REPOSITORIES} repositories, token auth, +${LATENCY_MS} ms per request`
    )
    console.log(
      `  base-image-drift: ${ours.toFixed(0)} ms wall (best of 3; median ${median.toFixed(0)} ms); per reference ${perRef(oursCounts.manifest)} manifest, ${perRef(oursCounts.otherRegistry)} other registry and ${perRef(oursCounts.token)} token requests (${tokensFetched} tokens fetched)`
    )
    console.log(
      `  peer, a skopeo inspect --raw loop: ${peer.toFixed(0)} ms wall; per reference ${perRef(peerCounts.manifest)} manifest, ${perRef(peerCounts.otherRegistry)} other registry and ${perRef(peerCounts.token)} token requests`
    )
    console.log(`  speed: ${(peer / ours).toFixed(1)}x the skopeo loop (target >= 20x)`)
    console.log(
      `  latency bound 2x${LATENCY_MS} + ceil(${n}/${PER_REGISTRY})x${LATENCY_MS} = ${bound} ms; ours is ${(ours / bound).toFixed(2)}x it (target <= 1.5x)`
    )
    console.log(
      `  the same run with no latency added takes ${floor.toFixed(0)} ms here (CPU floor); bound + floor = ${(bound + floor).toFixed(0)} ms, ours is ${(ours / (bound + floor)).toFixed(2)}x that`
    )
    const total = oursCounts.manifest + oursCounts.otherRegistry + oursCounts.token
    console.log(
      `  requests per reference: ${perRef(total)} (target <= 1 + 1/${TAGS_PER_REPOSITORY} = ${(1 + 1 / TAGS_PER_REPOSITORY).toFixed(3)}, plus the one 401 per registry that teaches its challenge)`
    )
  } finally {
    await ask('stop')
    await worker.terminate()
  }
}
