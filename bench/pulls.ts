// Pulls spent: on Docker Hub every manifest GET counts against the pull quota, a HEAD does
// not. Ten multi-platform images (linux/amd64 and linux/arm64, with attestations) on the
// real registry behind a counting proxy, tracked for linux/amd64; `check` as a process, and
// its manifest requests counted in each state a repository meets: nothing moved, other
// platforms rebuilt (index churn, first with a baseline that has no platform digests, then
// with the one that run recorded), and the tracked platform rebuilt (drift, explained).
// Peer, in the same run: `skopeo inspect --raw` of each reference, what a poll that reads
// the manifest to compare it costs.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FaultProxy } from '../__tests__/harness/fault-proxy.js'
import { ImagePusher } from '../__tests__/harness/images.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { fixed } from '../__tests__/helpers/drift-world.js'
import { measuredCli } from './lib/measured-cli.js'

const run = promisify(execFile)
const IMAGES = 10
const DRIFTED = 5

const registry = new TestRegistry()
await registry.start()
const proxy = await new FaultProxy(registry.url).start()
const dir = mkdtempSync(join(tmpdir(), 'bid-bench-pulls-'))
try {
  const pusher = new ImagePusher(registry)
  const push = (i: number, amd64: string, arm64: string) =>
    pusher.pushIndex(
      `bench/base-${i}`,
      '1',
      {
        // the same spec is the same image, byte for byte: only what is rebuilt moves
        'linux/amd64': fixed({ env: [`IMAGE=${i}`, `BUILD=${amd64}`] }),
        'linux/arm64/v8': fixed({ env: [`IMAGE=${i}`, `BUILD=${arm64}`] })
      },
      { attestations: true }
    )
  for (let i = 0; i < IMAGES; i++) await push(i, '1', '1')
  const names = Array.from({ length: IMAGES }, (_, i) => `${proxy.host}/bench/base-${i}:1`)
  writeFileSync(join(dir, 'Dockerfile'), names.map(n => `FROM ${n}`).join('\n') + '\n')

  const counted = async (args: string[]) => {
    proxy.reset()
    const ran = await measuredCli(dir, ['check', '--json', '--platforms', 'linux/amd64', ...args])
    const manifests = proxy.seen.filter(r => r.path.includes('/manifests/'))
    const statuses = (JSON.parse(ran.stdout).findings as { status: string }[]).map(f => f.status)
    return {
      gets: manifests.filter(r => r.method === 'GET').length,
      heads: manifests.filter(r => r.method === 'HEAD').length,
      statuses: [...new Set(statuses)].join(', ')
    }
  }
  await counted(['--update'])
  const steady = await counted([])
  for (let i = 0; i < IMAGES; i++) await push(i, '1', '2')
  const firstChurn = await counted(['--update'])
  for (let i = 0; i < IMAGES; i++) await push(i, '1', '3')
  const recordedChurn = await counted(['--update'])
  for (let i = 0; i < DRIFTED; i++) await push(i, '2', '3')
  const drift = await counted([])

  proxy.reset()
  for (const name of names)
    await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])
  const peerGets = proxy.seen.filter(r => r.method === 'GET' && r.path.includes('/manifests/'))

  const line = (what: string, c: typeof steady, per: number) =>
    console.log(
      `  ${what}: ${c.heads} HEAD, ${c.gets} GET (${(c.gets / per).toFixed(1)} GET per moved image; ${c.statuses})`
    )
  console.log(
    `pulls: manifest requests of check, ${IMAGES} multi-platform images tracked for linux/amd64`
  )
  console.log(`  nothing moved: ${steady.heads} HEAD, ${steady.gets} GET (${steady.statuses})`)
  line('other platforms rebuilt, baseline without platform digests', firstChurn, IMAGES)
  line('other platforms rebuilt again, platform digests recorded', recordedChurn, IMAGES)
  line(`${DRIFTED} of them rebuilt for linux/amd64, explained`, drift, DRIFTED)
  console.log(`  peer, skopeo inspect --raw of each reference: ${peerGets.length} GET`)
  console.log(
    `  steady state: ${steady.gets} pulls counted against ${peerGets.length} for the peer; index churn: ${(recordedChurn.gets / IMAGES).toFixed(1)} GET per image, ${(firstChurn.gets / recordedChurn.gets).toFixed(1)}x fewer once platforms are recorded`
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
  await proxy.stop()
  await registry.stop()
}
