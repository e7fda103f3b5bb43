// Cold start: from starting the process to its first registry request, for the CLI
// (`resolve` of one Dockerfile) and for the action bundle run as the runner runs it (push
// event, Actions cache emulator, no pull request), the way each is met in CI: once with the
// cache service on this machine, once 100 ms away, as it is from a hosted runner. Peer in the
// same run: `node -e 0`, what any Node program pays before its first line.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CacheService } from '../__tests__/harness/cache-service.js'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { ActionRunner } from '../__tests__/helpers/action-runner.js'

const ROUNDS = 5
const CACHE_LATENCY_MS = 100

const registry = new TestRegistry()
const cache = new CacheService()
await registry.start()
await cache.start()
const proxy = await new FaultProxy(registry.url).start()
const dir = mkdtempSync(join(tmpdir(), 'bid-bench-cold-'))
const runner = new ActionRunner(dir, cache.env)

/** Milliseconds from `started` to the proxy's first request, and the process's whole run. */
async function timed(start: () => Promise<unknown>): Promise<{ first: number; whole: number }> {
  proxy.reset()
  const started = Date.now()
  await start()
  const whole = Date.now() - started
  const first = proxy.seen[0]?.at
  if (first === undefined) throw new Error('no registry request was made')
  return { first: first - started, whole }
}

const node = (args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: 'ignore'
    })
    child.on('error', reject)
    child.on('close', () => resolve())
  })

const best = async (measure: () => Promise<{ first: number; whole: number }>) => {
  const runs = []
  for (let i = 0; i < ROUNDS; i++) runs.push(await measure())
  return runs.sort((a, b) => a.first - b.first)[0]
}

try {
  await new ImagePusher(registry).pushImage('library/alpine', { env: ['A=1'] }, { tag: '3.20' })
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${proxy.host}/library/alpine:3.20\n`)
  const bare = []
  for (let i = 0; i < ROUNDS; i++) {
    const started = Date.now()
    await node(['-e', '0'])
    bare.push(Date.now() - started)
  }
  const cli = await best(() => timed(() => node([resolve('dist/cli.js'), 'resolve', 'Dockerfile'])))
  const action = await best(() => timed(() => runner.runJob()))
  cache.latencyMs = CACHE_LATENCY_MS
  const distantCache = await best(() => timed(() => runner.runJob()))
  console.log(`cold start: process start to the first registry request (best of ${ROUNDS})`)
  console.log(`  peer, node -e 0 (start and exit): ${Math.min(...bare)} ms`)
  console.log(
    `  CLI (dist/cli.js resolve): first request at ${cli.first} ms; whole run ${cli.whole} ms`
  )
  console.log(
    `  action (dist/index.js, main and post steps, push event): first request at ${action.first} ms; both steps ${action.whole} ms`
  )
  console.log(
    `  the same with the cache service ${CACHE_LATENCY_MS} ms away: first request at ${distantCache.first} ms; both steps ${distantCache.whole} ms (the baseline is restored while the registry is asked)`
  )
} finally {
  runner.dispose()
  rmSync(dir, { recursive: true, force: true })
  await proxy.stop()
  await cache.stop()
  await registry.stop()
}
