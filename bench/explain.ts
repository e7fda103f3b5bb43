// Explaining one drifted image by its packages: an image laid out like python:3.12-slim
// (a ~28 MiB root file system with the dpkg database, a small apt layer that rewrites it,
// a ~15 MiB Python layer, a small top layer; ~45 MiB compressed), rebuilt, on the real
// registry. The CLI runs `check` as a process and reports its CPU time and peak memory;
// then the same with a Python layer four times larger, to show memory does not grow with
// layer size (the layers are streamed). Peer, in the same run: `skopeo copy` of the new
// image to a directory, which is what comparing packages by pulling the images costs.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { ImagePusher } from '../__tests__/harness/images.js'
import { debianRelease, dpkgStatus, tarLayer } from '../__tests__/harness/layers.js'
import { TestRegistry } from '../__tests__/harness/registry.js'
import { measuredCli } from './lib/measured-cli.js'

const run = promisify(execFile)
const MiB = 1024 * 1024
const CLI = resolve('dist/cli.js')

const packages = (suite: string, count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`lib${suite}pkg${i}`, `1.${i}-1`]))

async function image(pythonMiB: number, build: string) {
  const status = dpkgStatus({ ...packages('base', 80), [`build-${build}`]: '1' })
  return {
    env: [`BUILD=${build}`],
    // as Docker Official Images say it: the OS release is known without reading os-release
    history: ["ADD file:4b1a in / # debian.sh --arch 'amd64' out/ 'bookworm' '@1709510400'"],
    layers: [
      await tarLayer({
        'etc/os-release': debianRelease('12', 'bookworm'),
        'var/lib/dpkg/status': status,
        'usr/lib/rootfs.bin': randomBytes(28 * MiB)
      }),
      await tarLayer({
        'var/lib/dpkg/status': `${status}\n${dpkgStatus({ 'ca-certificates': build })}`
      }),
      await tarLayer({ 'usr/local/lib/python.bin': randomBytes(pythonMiB * MiB) }),
      await tarLayer({ 'usr/local/bin/python3': build })
    ]
  }
}

/** `check` as a process, with its own CPU time and peak RSS. */
async function checkProcess(dir: string) {
  const measured = await measuredCli(dir, ['check', '--json'])
  return { ...measured, finding: JSON.parse(measured.stdout).findings[0] }
}

const registry = new TestRegistry()
await registry.start()
const dir = mkdtempSync(join(tmpdir(), 'bid-bench-explain-'))
try {
  const pusher = new ImagePusher(registry)
  const results: { python: number; ours: Awaited<ReturnType<typeof checkProcess>> }[] = []
  let peerMs = 0
  for (const python of [15, 60]) {
    const repo = `bench/python-${python}`
    await pusher.pushImage(repo, await image(python, '1'), { tag: '3.12-slim' })
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${registry.host}/${repo}:3.12-slim\n`)
    rmSync(join(dir, '.base-image-drift.json'), { force: true })
    await run(process.execPath, [CLI, 'check', '--update'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir }
    })
    await pusher.pushImage(repo, await image(python, '2'), { tag: '3.12-slim' })
    const ours = await checkProcess(dir)
    results.push({ python, ours })
    if (python === 15) {
      const target = mkdtempSync(join(tmpdir(), 'bid-bench-skopeo-'))
      const started = performance.now()
      await run('skopeo', [
        'copy',
        '--src-tls-verify=false',
        `docker://${registry.host}/${repo}:3.12-slim`,
        `dir:${target}`
      ])
      peerMs = performance.now() - started
      rmSync(target, { recursive: true, force: true })
    }
  }
  const [small, large] = results
  const packages = small.ours.finding.explanation.packages
  console.log(
    'explain: one drifted image, old and new, packages from the layers (check as a process)'
  )
  for (const r of results)
    console.log(
      `  Python layer ${r.python} MiB: ${r.ours.wall.toFixed(0)} ms wall, ${r.ours.cpuMs.toFixed(0)} ms CPU, peak RSS ${r.ours.rssMiB.toFixed(0)} MiB`
    )
  console.log(
    `  found: ${packages.diff.changed.length} changed, ${packages.diff.removed.length} removed, ${packages.diff.added.length} added (from ${packages.from})`
  )
  console.log(`  peer, skopeo copy of the new image to a directory: ${peerMs.toFixed(0)} ms wall`)
  console.log(
    `  speed: ${(peerMs / small.ours.wall).toFixed(1)}x the peer, which fetches one image where we read two`
  )
  console.log(
    `  memory: peak RSS ${small.ours.rssMiB.toFixed(0)} → ${large.ours.rssMiB.toFixed(0)} MiB with a 4x larger layer (${((large.ours.rssMiB / small.ours.rssMiB - 1) * 100).toFixed(0)}%; streamed, it must not grow with layer size)`
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
  await registry.stop()
}
