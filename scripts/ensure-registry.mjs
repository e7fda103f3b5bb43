// The integration tests run the real CNCF distribution registry (Debian package
// docker-registry) and make keys with openssl. Install what is missing, or say how.
import { execFileSync, spawnSync } from 'node:child_process'

const needed = [
  ['docker-registry', 'docker-registry'],
  ['openssl', 'openssl'],
  ['skopeo', 'skopeo']
].filter(([command]) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0)

if (needed.length > 0) {
  const packages = needed.map(([, pkg]) => pkg)
  const isRoot = process.getuid?.() === 0
  const hasSudo = spawnSync('sh', ['-c', 'command -v sudo']).status === 0
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0
  if (!hasApt || (!isRoot && !hasSudo)) {
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
