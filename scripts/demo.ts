// `npm run demo`: base-image-drift end to end on this machine, with no internet. Starts a
// local registry, pushes the images examples/ uses, records a baseline with `check`,
// rebuilds python:3.12-slim upstream (bullseye → bookworm, as in the README's incident),
// runs `check` again and shows the drift report, then cleans up.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ImagePusher } from '../__tests__/harness/images.js'
import { dpkgStatus, tarLayer } from '../__tests__/harness/layers.js'
import { TestRegistry } from '../__tests__/harness/registry.js'

const registry = new TestRegistry()
const work = mkdtempSync(join(tmpdir(), 'base-image-drift-demo-'))
const say = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`)

function check(): number {
  const args = [
    'dist/cli.js',
    'check',
    'examples',
    '--build-arg',
    `REGISTRY=${registry.host}`,
    // Compose reads only the variables it is given
    '--var',
    'REGISTRY',
    '--baseline',
    join(work, 'baseline.json'),
    '--update'
  ]
  console.log(`$ REGISTRY=${registry.host} node ${args.join(' ')}`)
  try {
    execFileSync(process.execPath, args, {
      stdio: 'inherit',
      env: { ...process.env, REGISTRY: registry.host }
    })
    return 0
  } catch (error) {
    return (error as { status: number }).status
  }
}

try {
  say('Starting a local registry (docker-registry) with the images examples/ pulls')
  await registry.start()
  const pusher = new ImagePusher(registry)
  // root file systems with the dpkg database each Debian release really has for these packages
  const packages: Record<string, Record<string, string>> = {
    bullseye: {
      libc6: '2.31-13+deb11u7',
      'libssl1.1': '1.1.1w-0+deb11u1',
      openssl: '1.1.1w-0+deb11u1',
      'ca-certificates': '20210119'
    },
    bookworm: {
      libc6: '2.36-9+deb12u3',
      libssl3: '3.0.11-1~deb12u2',
      openssl: '3.0.11-1~deb12u2',
      'ca-certificates': '20230311'
    }
  }
  const python = async (suite: string, version: string, date: string) => ({
    created: date,
    env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', `PYTHON_VERSION=${version}`],
    history: [
      `/bin/sh -c #(nop) ADD file:rootfs in / # debian.sh --arch 'amd64' out/ '${suite}' '@1700000000'`,
      `ENV PYTHON_VERSION=${version}`
    ],
    layers: [
      await tarLayer({ 'var/lib/dpkg/status': dpkgStatus(packages[suite]) }),
      await tarLayer({ [`usr/local/bin/python${version}`]: version })
    ]
  })
  await pusher.pushImage(
    'library/python',
    await python('bullseye', '3.12.2', '2024-03-01T00:00:00Z'),
    {
      tag: '3.12-slim'
    }
  )
  await pusher.pushImage(
    'library/redis',
    { env: ['REDIS_VERSION=7.4.1'], history: ['ADD alpine-minirootfs-3.20.3-x86_64.tar.gz /'] },
    { tag: '7-alpine' }
  )
  console.log(`registry on ${registry.url}: library/python:3.12-slim, library/redis:7-alpine`)

  say('Run 1: no baseline yet, so check records one')
  const first = check()

  say(
    'Upstream rebuilds python:3.12-slim on Debian bookworm with Python 3.12.3, under the same tag'
  )
  await pusher.pushImage(
    'library/python',
    await python('bookworm', '3.12.3', '2024-04-10T00:00:00Z'),
    {
      tag: '3.12-slim'
    }
  )

  say('Run 2: check compares with the baseline, finds the drift, and exits 1')
  const second = check()
  say(`Done: run 1 exited ${first}, run 2 exited ${second} (0 = nothing to fail on, 1 = drift)`)
  if (first !== 0 || second !== 1) process.exitCode = 1
} finally {
  await registry.stop()
  rmSync(work, { recursive: true, force: true })
}
