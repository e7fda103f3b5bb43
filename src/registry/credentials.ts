/**
 * Registry credentials: the registry-auth input, the github-token for GHCR, Docker's config.json and
 * credential helpers, in that order.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { DOCKER_HUB } from '../reference/reference.js'
import { RegistryError } from './transport/errors.js'
import { canonicalRegistry } from './hosts.js'
import { isRecord } from '../json.js'
import { codeOf } from '../errors.js'

/** What a registry is logged in with. */
export type Credential = { username: string; password: string } | { identityToken: string }

export interface KeychainOptions {
  /** The action's `registry-auth` input: registry host → user and password. */
  registryAuth?: Record<string, { username: string; password: string }>
  /** The action's `github-token`, used for ghcr.io. */
  githubToken?: string
  githubActor?: string
  /** Environment for DOCKER_CONFIG, HOME and the PATH helpers are found on. */
  env?: Record<string, string | undefined>
  /** Called with every secret found, before it can be printed (the action masks it). */
  onSecret?: (secret: string) => void
}

/** config.json as read: its sections, each checked only when a registry needs it. */
interface DockerConfig {
  path: string
  auths: Record<string, unknown>
  credsStore: unknown
  credHelpers: Record<string, unknown>
}

/** A field of config.json that must be a string when present; a wrong one is this registry's error. */
function stringField(config: DockerConfig, where: string, value: unknown): string | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value ?? undefined
  throw new RegistryError(
    'credentials',
    `${config.path}: ${where} must be a string, not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}; fix it, or log in again`
  )
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/'

/**
 * Finds credentials for a registry, in this order: the `registry-auth` input, the
 * GitHub token for ghcr.io, Docker's config.json (credHelpers, credsStore, auths), else none.
 */
export class Keychain {
  private config: Promise<DockerConfig | null> | null = null
  private readonly found = new Map<string, Promise<Credential | null>>()

  constructor(private readonly options: KeychainOptions = {}) {}

  /** The credential already looked up for a registry (a challenge asked for it); undefined when none was. */
  looked(registry: string): Promise<Credential | null> | undefined {
    return this.found.get(registry)
  }

  resolve(registry: string): Promise<Credential | null> {
    let credential = this.found.get(registry)
    if (!credential) this.found.set(registry, (credential = this.lookup(registry)))
    return credential
  }

  private async lookup(registry: string): Promise<Credential | null> {
    for (const [host, auth] of Object.entries(this.options.registryAuth ?? {})) {
      if (canonicalRegistry(host) === registry) return this.secret(auth)
    }
    if (registry === 'ghcr.io' && this.options.githubToken) {
      return this.secret({
        username: this.options.githubActor || 'x-access-token',
        password: this.options.githubToken
      })
    }
    const config = await this.dockerConfig()
    if (!config) return null
    const helperEntry = Object.entries(config.credHelpers).find(
      ([key]) => canonicalRegistry(key) === registry
    )
    const helper = helperEntry
      ? stringField(config, `credHelpers["${helperEntry[0]}"]`, helperEntry[1])
      : undefined
    if (helper) return this.fromHelper(helper, registry)
    const store = stringField(config, 'credsStore', config.credsStore)
    if (store) {
      const stored = await this.fromHelper(store, registry)
      if (stored) return stored
    }
    const found = Object.entries(config.auths).find(([key]) => canonicalRegistry(key) === registry)
    if (!found) return null
    const [key, value] = found
    if (!isRecord(value))
      throw new RegistryError('credentials', `${config.path}: auths["${key}"] must be an object`)
    const field = (name: string) => stringField(config, `auths["${key}"].${name}`, value[name])
    const entry = {
      auth: field('auth'),
      username: field('username'),
      password: field('password'),
      identitytoken: field('identitytoken')
    }
    if (entry.identitytoken) return this.secret({ identityToken: entry.identitytoken })
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon < 0)
        throw new RegistryError(
          'credentials',
          `Docker config: the "auth" entry for ${registry} is not base64 of user:password`
        )
      return this.secret({ username: decoded.slice(0, colon), password: decoded.slice(colon + 1) })
    }
    if (entry.username && entry.password)
      return this.secret({ username: entry.username, password: entry.password })
    return null
  }

  private secret(credential: Credential): Credential {
    this.options.onSecret?.(
      'password' in credential ? credential.password : credential.identityToken
    )
    return credential
  }

  private dockerConfig(): Promise<DockerConfig | null> {
    if (!this.config) {
      const env = this.options.env ?? process.env
      const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker')
      const path = join(dir, 'config.json')
      this.config = readFile(path, 'utf8').then(
        text => {
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            throw new RegistryError('credentials', `${path} is not valid JSON; fix or remove it`)
          }
          if (!isRecord(parsed))
            throw new RegistryError('credentials', `${path} is not a JSON object; fix or remove it`)
          const section = (name: string) => {
            const value = parsed[name]
            if (value === undefined || value === null) return {}
            if (isRecord(value)) return value
            throw new RegistryError('credentials', `${path}: ${name} must be an object`)
          }
          return {
            path,
            auths: section('auths'),
            credsStore: parsed.credsStore,
            credHelpers: section('credHelpers')
          }
        },
        () => null
      )
    }
    return this.config
  }

  /** The docker-credential-helper protocol: `docker-credential-NAME get`, server on stdin. */
  private async fromHelper(name: string, registry: string): Promise<Credential | null> {
    if (!HELPER_NAME.test(name)) {
      throw new RegistryError(
        'credentials',
        `Docker config names credential helper "${name}": only letters, digits, ".", "_" and "-" are allowed`
      )
    }
    const server = registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry
    const program = `docker-credential-${name}`
    const output = await new Promise<string | null>((resolve, reject) => {
      const child = execFile(
        program,
        ['get'],
        {
          env: this.options.env ?? process.env,
          timeout: 30_000,
          shell: false
        },
        (error, stdout) => {
          if (!error) return resolve(stdout)
          if (codeOf(error) === 'ENOENT') {
            return reject(
              new RegistryError(
                'credentials',
                `credential helper ${program} (from Docker config) is not on PATH`
              )
            )
          }
          // "credentials not found in native keychain": not logged in to this registry
          if (/not found/i.test(String(stdout))) return resolve(null)
          reject(
            new RegistryError(
              'credentials',
              `credential helper ${program} failed for ${registry}: ${String(stdout).trim() || error.message}`
            )
          )
        }
      )
      child.stdin?.end(server)
    })
    if (output === null) return null
    let parsed: unknown
    try {
      parsed = JSON.parse(output)
    } catch {
      throw new RegistryError(
        'credentials',
        `credential helper ${program} did not print JSON for ${registry}`
      )
    }
    if (
      !isRecord(parsed) ||
      (parsed.Secret !== undefined && typeof parsed.Secret !== 'string') ||
      (parsed.Username !== undefined && typeof parsed.Username !== 'string')
    )
      throw new RegistryError(
        'credentials',
        `credential helper ${program} printed something other than {"Username": "…", "Secret": "…"} for ${registry}`
      )
    if (!parsed.Secret) return null
    if (parsed.Username === '<token>') return this.secret({ identityToken: parsed.Secret })
    return this.secret({ username: parsed.Username ?? '', password: parsed.Secret })
  }
}
