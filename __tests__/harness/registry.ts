import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'
import { freePort } from './ports.js'
import { TokenServer, type TokenServerOptions } from './token-server.js'

export type AuthMode = 'anonymous' | 'basic' | 'token'

export interface RegistryOptions {
  auth?: AuthMode
  /** user → password, for `basic` (htpasswd) and `token` (accounts of the token server). */
  users?: Record<string, string>
  token?: TokenServerOptions
  /** Lets the registry send clients to another realm URL (e.g. a proxy in front of the token server). */
  realm?: (tokenServer: TokenServer) => Promise<string>
}

/** Credentials the harness pushes with in `basic` and `token` modes. */
export const PUSHER = { username: 'pusher', password: 'push-secret' }

/**
 * The real CNCF distribution registry (`docker-registry serve`) on 127.0.0.1, a free port and
 * a temporary storage directory; in token mode with a TokenServer in front of it.
 */
export class TestRegistry {
  readonly mode: AuthMode
  readonly users: Record<string, string>
  tokenServer: TokenServer | null = null
  port = 0
  /** Process id of the registry while it runs; kept after stop for leak checks. */
  pid = 0
  private process: ChildProcess | null = null
  private dir = ''
  private stderr = ''

  constructor(private readonly options: RegistryOptions = {}) {
    this.mode = options.auth ?? 'anonymous'
    this.users = { [PUSHER.username]: PUSHER.password, ...options.users }
  }

  /** host:port, as an image reference names it. */
  get host(): string {
    return `127.0.0.1:${this.port}`
  }

  get url(): string {
    return `http://${this.host}`
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'bid-registry-'))
    this.port = await freePort()
    let auth = ''
    if (this.mode === 'basic') {
      const lines = Object.entries(this.users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}`)
      writeFileSync(join(this.dir, 'htpasswd'), lines.join('\n') + '\n')
      auth = `auth:\n  htpasswd:\n    realm: bid-basic-realm\n    path: ${join(this.dir, 'htpasswd')}\n`
    } else if (this.mode === 'token') {
      this.tokenServer = new TokenServer({ users: this.users, ...this.options.token })
      await this.tokenServer.start()
      const t = this.tokenServer
      const realm = this.options.realm ? await this.options.realm(t) : t.realm
      auth = `auth:\n  token:\n    realm: ${realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certPath}\n`
    }
    const config = join(this.dir, 'config.yml')
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(this.dir, 'data')}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: ${this.host}\n${auth}`
    )
    this.process = spawn('docker-registry', ['serve', config], {
      stdio: ['ignore', 'ignore', 'pipe']
    })
    this.pid = this.process.pid ?? 0
    this.process.stderr!.on('data', chunk => (this.stderr += chunk))
    await this.waitUntilUp()
    return this
  }

  async stop(): Promise<void> {
    const child = this.process
    if (child && child.exitCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    this.process = null
    await this.tokenServer?.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }

  private async waitUntilUp(): Promise<void> {
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      if (this.process?.exitCode !== null) {
        throw new Error(`docker-registry exited: ${this.stderr.trim()}`)
      }
      try {
        const res = await fetch(`${this.url}/v2/`)
        await res.arrayBuffer()
        return
      } catch {
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    }
    throw new Error(
      `docker-registry did not answer on ${this.url} within 15 s: ${this.stderr.trim()}`
    )
  }
}
