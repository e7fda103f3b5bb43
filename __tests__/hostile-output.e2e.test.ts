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

/** Text from outside that reaches a log by other ways: a cache service's answer, a file's name. */
describe('outside text by other ways', () => {
  let workspace = ''
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'bid-output-'))
  })
  afterEach(() => rmSync(workspace, { recursive: true, force: true }))
  const FORGED =
    '\n::error file=Dockerfile,line=1::forged\n::add-mask::forged-mask\n  ::stop-commands::forged-stop\n'
  /** Lines the runner would read as the forged commands (after leading white space). */
  const forgedLines = (log: string) =>
    log
      .split('\n')
      .map(line => line.trimStart())
      .filter(line =>
        /^::(?:error file=Dockerfile,line=1::forged|add-mask::forged|stop-commands::forged)/.test(
          line
        )
      )

  // measured before: 3 forged command lines from the cache service's answer
  it.each([
    // statuses the library does not retry: the test never waits out its backoff
    ['restores', 'GetCacheEntryDownloadURL', 400],
    ['saves', 'CreateCacheEntry', 400]
  ])(
    'a cache service that answers with :: lines when it %s forges no command',
    async (_, method, status) => {
      writeFileSync(join(workspace, 'Dockerfile'), 'FROM scratch\n')
      const cache = await new CacheService().start()
      cache.failMethod = { method, status, msg: `internal error${FORGED}` }
      const runner = new ActionRunner(workspace, cache.env)
      try {
        // a refused save waits for another step's once, at most the cache deadline (timeout)
        const job = await runner.runJob({ timeout: '2' })
        const logs = [job.main.stdout, job.post?.stdout ?? ''].join('\n')
        // the library's debug lines may quote the answer, escaped: no other command carries it
        const commands = [...job.main.commands, ...(job.post?.commands ?? [])]
        expect(commands.filter(c => c.command !== 'debug' && /^::|\n::/.test(c.message))).toEqual(
          []
        )
        expect(forgedLines(logs)).toEqual([])
      } finally {
        runner.dispose()
        await cache.stop()
      }
    }
  )

  // measured before: 2 forged command lines in the CLI's output, which runs in jobs too
  it('a file whose name holds a line break and :: forges no command in the CLI output', async () => {
    writeFileSync(join(workspace, `Dockerfile.x${FORGED.replace(/\n$/, '')}`), 'FROM $NOPE\n')
    writeFileSync(join(workspace, 'Dockerfile'), 'FROM alpine:3.20\n')
    const ran = await runNode(CLI, ['scan', '.'], { cwd: workspace })
    expect(ran.stdout + ran.stderr).toContain('forged')
    expect(forgedLines(ran.stdout + ran.stderr)).toEqual([])
  })
})
