import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CacheService } from './harness/cache-service.js'
import { ActionRunner } from './helpers/action-runner.js'
import { CLI, runNode } from './helpers/run.js'

/** What a repository writes reaches the job's log and a terminal as text, never as commands. */
describe('outside text in the log and the terminal', () => {
  let workspace = ''
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'bid-output-'))
  })
  afterEach(() => rmSync(workspace, { recursive: true, force: true }))

  it('a workflow value with a line break and :: forges no workflow command in the log', async () => {
    mkdirSync(join(workspace, '.github/workflows'), { recursive: true })
    writeFileSync(
      join(workspace, '.github/workflows/ci.yml'),
      'on: push\njobs:\n  a:\n    runs-on: x\n    container: "${{ inputs.x }}\\n::warning file=Dockerfile,line=1::forged\\n::add-mask::ghs\\n::stop-commands::stop"\n    steps:\n      - run: true\n'
    )
    const cache = await new CacheService().start()
    const runner = new ActionRunner(workspace, cache.env)
    try {
      const job = await runner.runJob()
      expect(job.main.status).toBe(0)
      // the only workflow commands are the action's own: no forged warning, mask or stop
      expect(job.main.commands.map(c => c.command)).not.toContain('stop-commands')
      expect(job.main.commands.filter(c => c.message.includes('forged'))).toEqual([])
      expect(job.main.commands.filter(c => c.command === 'add-mask').map(c => c.message)).toEqual([
        'ghs_testtoken'
      ])
      expect(job.main.stdout).toContain('is set at run time')
    } finally {
      runner.dispose()
      await cache.stop()
    }
  })

  it('the CLI shows ESC and BEL from a file as text, never as terminal sequences', async () => {
    writeFileSync(
      join(workspace, 'Dockerfile'),
      'FROM alpine:3.20\u001b]52;c;ZXZpbA==\u0007\u001b[2K\n'
    )
    const ran = await runNode(CLI, ['scan', '.'], { cwd: workspace })
    const sent = ran.stdout + ran.stderr
    expect(sent.includes('\u001b') || sent.includes('\u0007')).toBe(false)
    expect(ran.stdout).toContain('\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2K')
  })
})
