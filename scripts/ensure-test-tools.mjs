// What the tests need beyond npm ci: the real CNCF distribution registry (Debian package
// docker-registry), openssl for the token server's keys, skopeo for the benchmark's peer,
// and a Node 24 binary (npm package node@24) to run the bundled action as the runner does.
// Installs what is missing, or says how.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const has = command => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
const packages = ['docker-registry', 'openssl', 'skopeo'].filter(command => !has(command))

if (packages.length > 0) {
  const isRoot = process.getuid?.() === 0
  if (!has('apt-get') || (!isRoot && !has('sudo'))) {
    console.error(
      `missing ${packages.join(', ')}: install with \`sudo apt-get install -y ${packages.join(' ')}\` (Debian/Ubuntu), then run the tests again`
    )
    process.exit(1)
  }
  const run = args =>
    execFileSync(isRoot ? args[0] : 'sudo', isRoot ? args.slice(1) : args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    })
  console.error(`installing ${packages.join(', ')} with apt-get`)
  run(['apt-get', 'update', '-q'])
  run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages])
}

// --registry-only (the demo and the benchmarks): no Node 24
const NODE24 = 'node_modules/.cache/node24/node_modules/node/bin/node'
if (!process.argv.includes('--registry-only') && !existsSync(NODE24)) {
  console.error('installing Node 24 (npm package node@24) for the end-to-end tests')
  execFileSync(
    'npm',
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      'node_modules/.cache/node24',
      'node@24'
    ],
    { stdio: 'inherit' }
  )
}
