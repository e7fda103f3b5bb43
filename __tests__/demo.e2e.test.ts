import { spawnSync } from 'node:child_process'
import { ROOT } from './helpers/run.js'

describe('npm run demo', () => {
  it('records a baseline, then shows the drift report, and cleans up', () => {
    const ran = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'scripts/demo.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000
    })
    expect(ran.status).toBe(0)
    expect(ran.stdout).toContain('First run: baseline recorded in')
    expect(ran.stdout).toContain(
      'what changed (linux/amd64): Debian bullseye → bookworm; 1 package removed (libssl1.1); PYTHON_VERSION 3.12.2 → 3.12.3'
    )
    expect(ran.stdout).toContain('  libssl1.1 1.1.1w-0+deb11u1 → removed')
    expect(ran.stdout).toMatch(
      /examples\/python-api\/Dockerfile:9: libssl1\.1 is not in 127\.0\.0\.1:\d+\/library\/python:3\.12-slim any more \(Debian bookworm\); this line installs it/
    )
    expect(ran.stdout).toMatch(
      /keep the known-good image: {2}FROM \$\{REGISTRY\}\/library\/python:\$\{PYTHON_VERSION\}-slim@sha256:[a-f0-9]{64} AS base/
    )
    expect(ran.stdout).toContain('Done: run 1 exited 0, run 2 exited 1')
  }, 60_000)
})
