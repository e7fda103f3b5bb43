import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { ACTION, ROOT, runNode } from './run.js'
import { on, type Trigger } from './trigger.js'

export interface WorkflowCommand {
  command: string
  properties: Record<string, string>
  message: string
}

export interface StepResult {
  status: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  commands: WorkflowCommand[]
  /** The environment the step ran with. */
  env: Record<string, string>
}

export interface JobResult {
  main: StepResult
  /** null when the job failed: `post-if: success()` keeps the post step from running. */
  post: StepResult | null
}

const declared = (
  parse(readFileSync(resolve(ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
).inputs

/**
 * Runs the bundled action as the GitHub runner does: every declared input as INPUT_*
 * (defaults from action.yml), file commands for outputs, state and the job summary, then the
 * post step with STATE_* when the job succeeded.
 */
export class ActionRunner {
  /** Run ids are unique across runners, as they are across a repository's jobs. */
  private static runNumber = 100
  /** The runner's home directory. */
  readonly home: string
  /**
   * Like a runner machine's RUNNER_TEMP: the same path for every job, emptied between jobs.
   * By default beside the workspace's parent, as the runner lays out `_work/_temp` and
   * `_work/<repo>/<repo>`.
   */
  private readonly temp: string

  constructor(
    private readonly workspace: string,
    private readonly baseEnv: Record<string, string>,
    private readonly node?: string,
    layout: { temp?: string; home?: string } = {}
  ) {
    this.temp = layout.temp ?? mkdtempSync(join(tmpdir(), 'bid-runner-temp-'))
    this.home = layout.home ?? mkdtempSync(join(tmpdir(), 'bid-runner-home-'))
  }

  dispose(): void {
    rmSync(this.home, { recursive: true, force: true })
    rmSync(this.temp, { recursive: true, force: true })
  }

  async runJob(
    inputs: Record<string, string> = {},
    extraEnv: Record<string, string> = {},
    trigger: Trigger = on.push()
  ): Promise<JobResult> {
    const job = await this.startJob(inputs, extraEnv, trigger)
    return { main: job.main, post: await job.finish() }
  }

  /**
   * Runs the main step now and leaves the post step for later (`finish`): a long job whose
   * post step runs after other runs have come and gone. `finish` is null when the job failed.
   */
  async startJob(
    inputs: Record<string, string> = {},
    extraEnv: Record<string, string> = {},
    trigger: Trigger = on.push(),
    /** false: another step of a job already started (its RUNNER_TEMP and run kept). */
    freshJob = true
  ): Promise<{ main: StepResult; finish: () => Promise<StepResult | null> }> {
    const job = mkdtempSync(join(tmpdir(), 'bid-job-'))
    const files = {
      output: join(job, 'output'),
      state: join(job, 'state'),
      summary: join(job, 'summary'),
      event: join(job, 'event.json')
    }
    for (const file of [files.output, files.state, files.summary]) writeFileSync(file, '')
    writeFileSync(files.event, JSON.stringify(trigger.event))
    if (freshJob) {
      // each job on a fresh machine: nothing left behind by an earlier job
      rmSync(this.temp, { recursive: true, force: true })
      mkdirSync(this.temp, { recursive: true })
      ActionRunner.runNumber++
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: this.home,
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_WORKSPACE: this.workspace,
      RUNNER_TEMP: this.temp,
      GITHUB_OUTPUT: files.output,
      GITHUB_STATE: files.state,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_EVENT_PATH: files.event,
      GITHUB_RUN_ID: String(ActionRunner.runNumber),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_WORKFLOW: 'ci',
      GITHUB_WORKFLOW_REF: 'acme/shop/.github/workflows/ci.yml@refs/heads/main',
      GITHUB_JOB: 'drift',
      GITHUB_ACTION: '__acme_base-image-drift',
      GITHUB_ACTOR: 'octocat',
      // no test reaches github.com: where no FakeGitHub is set, every API request is refused
      GITHUB_API_URL: 'http://127.0.0.1:1',
      ...this.baseEnv,
      ...trigger.env,
      ...extraEnv
    }
    for (const [name, spec] of Object.entries(declared)) {
      const fallback =
        spec.default === '${{ github.token }}' ? 'ghs_testtoken' : (spec.default ?? '')
      env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? fallback
    }
    const main = await this.step(env, files).catch(error => {
      rmSync(job, { recursive: true, force: true })
      throw error
    })
    const finish = async (): Promise<StepResult | null> => {
      try {
        // `post-if: success()`: a failed job runs no post step
        if (main.status !== 0) return null
        const state = parseFileCommands(readFileSync(files.state, 'utf8'))
        const postEnv = {
          ...env,
          ...Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]))
        }
        writeFileSync(files.output, '')
        writeFileSync(files.summary, '')
        return await this.step(postEnv, files)
      } finally {
        rmSync(job, { recursive: true, force: true })
      }
    }
    return { main, finish }
  }

  private async step(
    env: Record<string, string>,
    files: { output: string; summary: string }
  ): Promise<StepResult> {
    const ran = await runNode(ACTION, [], { cwd: this.workspace, env, node: this.node })
    return {
      ...ran,
      env,
      outputs: parseFileCommands(readFileSync(files.output, 'utf8')),
      summary: readFileSync(files.summary, 'utf8'),
      commands: parseWorkflowCommands(ran.stdout)
    }
  }
}

/** `name<<delimiter\nvalue\ndelimiter` records of GITHUB_OUTPUT and GITHUB_STATE. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (!match) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i])
    values[match[1]] = value.join('\n')
  }
  return values
}

/** `::error file=Dockerfile,line=1::message` lines. */
export function parseWorkflowCommands(stdout: string): WorkflowCommand[] {
  const unescape = (s: string) =>
    s
      .replace(/%0D/g, '\r')
      .replace(/%0A/g, '\n')
      .replace(/%3A/g, ':')
      .replace(/%2C/g, ',')
      .replace(/%25/g, '%')
  return stdout.split('\n').flatMap(line => {
    const match = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line)
    if (!match) return []
    const properties = Object.fromEntries(
      (match[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map(pair => [
          pair.slice(0, pair.indexOf('=')),
          unescape(pair.slice(pair.indexOf('=') + 1))
        ])
    )
    return [{ command: match[1], properties, message: unescape(match[3]) }]
  })
}
