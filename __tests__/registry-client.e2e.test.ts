import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseReference } from '../src/reference/reference.js'
import { Keychain } from '../src/registry/credentials.js'
import { RegistryError } from '../src/registry/transport/errors.js'
import { RegistryClient, type RegistryClientOptions } from '../src/registry/remote.js'
import { resolveAll } from '../src/resolve/resolve.js'
import { ImagePusher } from './harness/images.js'
import { FaultProxy } from './harness/fault-proxy.js'
import { TestRegistry } from './harness/registry.js'
import { found } from './helpers/references.js'

const FAST: RegistryClientOptions = { timeoutMs: 5000, baseDelayMs: 10, maxDelayMs: 50 }

async function withClient<T>(
  options: RegistryClientOptions,
  run: (client: RegistryClient) => Promise<T>
): Promise<T> {
  const client = new RegistryClient(options)
  try {
    return await run(client)
  } finally {
    await client.close()
  }
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof RegistryError) return error
    throw error
  }
  throw new Error('expected a RegistryError')
}

describe('resolving digests from the real registry', () => {
  describe('anonymous', () => {
    const registry = new TestRegistry()
    let digest = ''
    beforeAll(async () => {
      await registry.start()
      digest = (
        await new ImagePusher(registry).pushImage('library/app', { env: ['A=1'] }, { tag: 'v1' })
      ).digest
    })
    afterAll(() => registry.stop())

    it('gets the tag digest with one HEAD', async () => {
      await withClient(FAST, async client => {
        expect(await client.digest(parseReference(`${registry.host}/library/app:v1`))).toBe(digest)
        expect(client.stats).toMatchObject({ requests: 1, manifestRequests: 1, tokensFetched: 0 })
      })
    })

    it('says a tag that is not there by the code the registry gives, never "no longer"', async () => {
      const pusher = new ImagePusher(registry)
      await pusher.pushImage('library/gone', {}, { tag: 'old' })
      await pusher.deleteTag('library/gone', 'old')
      await withClient(FAST, async client => {
        const error = await failure(
          client.digest(parseReference(`${registry.host}/library/gone:old`))
        )
        expect(error.kind).toBe('not-found')
        expect(error.message).toBe(
          `${registry.host}/library/gone:old: the tag old does not exist on ${registry.host} (HTTP 404 MANIFEST_UNKNOWN); check the tag, or pin a digest that exists`
        )
      })
    })
  })

  describe('Basic (htpasswd)', () => {
    const registry = new TestRegistry({ auth: 'basic', users: { reader: 'read-pass' } })
    let digest = ''
    beforeAll(async () => {
      await registry.start()
      digest = (await new ImagePusher(registry).pushImage('team/app', {}, { tag: '1' })).digest
    })
    afterAll(() => registry.stop())

    it('answers the Basic challenge with registry-auth credentials', async () => {
      await withClient(
        {
          ...FAST,
          registryAuth: { [registry.host]: { username: 'reader', password: 'read-pass' } }
        },
        async client => {
          expect(await client.digest(parseReference(`${registry.host}/team/app:1`))).toBe(digest)
          expect(await client.digest(parseReference(`${registry.host}/team/app:1`))).toBe(digest)
          // the first request learns the challenge; every later one carries the credentials
          expect(client.stats.requests).toBe(3)
        }
      )
    })

    it.each([
      ['no credentials', {}],
      [
        'wrong credentials',
        { registryAuth: { 'http://HOST': { username: 'reader', password: 'wrong' } } }
      ]
    ])('with %s, says what a refusal can mean and what the registry said', async (what, extra) => {
      const options = JSON.parse(
        JSON.stringify(extra).replace('HOST', registry.host)
      ) as RegistryClientOptions
      await withClient({ ...FAST, ...options, env: { HOME: '/nonexistent' } }, async client => {
        const error = await failure(client.digest(parseReference(`${registry.host}/team/app:1`)))
        expect(error.kind).toBe('unauthorized')
        expect(error.message).toBe(
          what === 'no credentials'
            ? // Docker Hub and Quay say 401 for a name that does not exist too: both are said
              `${registry.host}/team/app:1: the repository does not exist on ${registry.host}, or it is private (HTTP 401 UNAUTHORIZED; ${registry.host} said: authentication required); check the name, or log in to ${registry.host} (a docker/login-action step, or registry-auth)`
            : `${registry.host}/team/app:1: access denied with the credentials for ${registry.host} (HTTP 401 UNAUTHORIZED; ${registry.host} said: authentication required); check that they may pull this repository`
        )
      })
    })
  })

  describe('Bearer tokens', () => {
    const registry = new TestRegistry({
      auth: 'token',
      token: { expiresIn: 11, field: 'access_token' }
    })
    let digests: string[] = []
    beforeAll(async () => {
      await registry.start()
      const pusher = new ImagePusher(registry)
      digests = [
        (await pusher.pushImage('library/python', { env: ['V=1'] }, { tag: '3.12-slim' })).digest,
        (await pusher.pushImage('library/python', { env: ['V=2'] }, { tag: '3.13-slim' })).digest
      ]
    })
    afterAll(() => registry.stop())

    it('fetches one anonymous token per repository and reuses it until expires_in', async () => {
      const server = registry.tokenServer!
      server.requests.length = 0
      await withClient(FAST, async client => {
        const refs = [
          found(`${registry.host}/library/python:3.12-slim`),
          found(`${registry.host}/library/python:3.13-slim`)
        ]
        const results = await resolveAll(refs, client)
        expect([...results.values()].map(r => ('digest' in r ? r.digest : r.failure))).toEqual(
          digests
        )
        expect(client.stats.tokensFetched).toBe(1)
        expect(server.requests).toEqual([
          {
            service: server.service,
            scopes: ['repository:library/python:pull'],
            account: null,
            authorized: true
          }
        ])
        // expires_in 11 s, renewed 10 s early: a second later the token is fetched again
        await new Promise(resolve => setTimeout(resolve, 1100))
        await client.digest(parseReference(`${registry.host}/library/python:3.12-slim`))
        expect(client.stats.tokensFetched).toBe(2)
      })
    })

    it('says what failed when the token endpoint fails', async () => {
      registry.tokenServer!.failWith = 500
      try {
        await withClient(FAST, async client => {
          const error = await failure(
            client.digest(parseReference(`${registry.host}/library/python:3.12-slim`))
          )
          expect(error.message).toBe(
            `token service for ${registry.host} (${registry.tokenServer!.realm.split('/')[2]}) answered HTTP 500`
          )
          expect(client.stats.retries).toBe(4)
        })
      } finally {
        registry.tokenServer!.failWith = null
      }
    })
  })
})

describe('credentials from each source, against a token registry that refuses anonymous pulls', () => {
  const registry = new TestRegistry({
    auth: 'token',
    users: { alice: 'alice-pass' },
    token: { anonymousPull: false, identityTokens: { 'refresh-abc': 'alice' } }
  })
  let digest = ''
  let dir = ''
  beforeAll(async () => {
    await registry.start()
    digest = (await new ImagePusher(registry).pushImage('private/app', {}, { tag: 'v1' })).digest
    dir = mkdtempSync(join(tmpdir(), 'bid-creds-'))
    const helper = join(dir, 'docker-credential-test')
    // the docker-credential-helper protocol: server URL on stdin, JSON on stdout
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then\n  echo '{"ServerURL":"'$server'","Username":"alice","Secret":"alice-pass"}'\nelse\n  echo "credentials not found in native keychain"; exit 1\nfi\n`
    )
    chmodSync(helper, 0o755)
  })
  afterAll(async () => {
    await registry.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const resolveWith = async (config: object | null, extra: RegistryClientOptions | object = {}) => {
    const configDir = mkdtempSync(join(dir, 'config-'))
    if (config) writeFileSync(join(configDir, 'config.json'), JSON.stringify(config))
    const env = { DOCKER_CONFIG: configDir, PATH: `${dir}:${process.env.PATH}` }
    const secrets: string[] = []
    const result = await withClient(
      { ...FAST, env, onSecret: s => secrets.push(s), ...extra },
      client => client.digest(parseReference(`${registry.host}/private/app:v1`))
    )
    return { result, secrets, accounts: registry.tokenServer!.requests.map(r => r.account) }
  }

  beforeEach(() => {
    registry.tokenServer!.requests.length = 0
  })

  it('refuses without credentials, telling the user to log in', async () => {
    const error = await failure(resolveWith(null))
    expect(error.message).toBe(
      `${registry.host}/private/app:v1: the repository does not exist on ${registry.host}, or it is private (HTTP 401 UNAUTHORIZED; ${registry.host} said: authentication required); check the name, or log in to ${registry.host} (a docker/login-action step, or registry-auth)`
    )
  })

  it('uses the registry-auth input', async () => {
    const got = await resolveWith(null, {
      registryAuth: { [registry.host]: { username: 'alice', password: 'alice-pass' } }
    })
    expect(got.result).toBe(digest)
    expect(got.accounts).toEqual(['alice'])
    expect(got.secrets).toEqual(['alice-pass'])
  })

  it('uses a base64 auth entry of config.json', async () => {
    const auth = Buffer.from('alice:alice-pass').toString('base64')
    expect((await resolveWith({ auths: { [`http://${registry.host}`]: { auth } } })).result).toBe(
      digest
    )
  })

  it('uses username and password of config.json', async () => {
    expect(
      (
        await resolveWith({
          auths: { [registry.host]: { username: 'alice', password: 'alice-pass' } }
        })
      ).result
    ).toBe(digest)
  })

  it('uses an identity token of config.json through the OAuth2 refresh grant', async () => {
    const got = await resolveWith({ auths: { [registry.host]: { identitytoken: 'refresh-abc' } } })
    expect(got.result).toBe(digest)
    expect(got.accounts).toEqual(['alice'])
  })

  it('uses credHelpers through the credential-helper protocol', async () => {
    const got = await resolveWith({ credHelpers: { [registry.host]: 'test' } })
    expect(got.result).toBe(digest)
    expect(got.secrets).toEqual(['alice-pass'])
  })

  it('uses credsStore through the credential-helper protocol', async () => {
    expect((await resolveWith({ credsStore: 'test', auths: { [registry.host]: {} } })).result).toBe(
      digest
    )
  })

  it('says to log in when the credentials are wrong', async () => {
    const error = await failure(
      resolveWith({ auths: { [registry.host]: { username: 'alice', password: 'nope' } } })
    )
    expect(error.kind).toBe('unauthorized')
    expect(error.message).toBe(
      `log in to ${registry.host}: its token service refused the credentials (HTTP 401); check the docker/login-action step or registry-auth`
    )
  })

  it('refuses a credential helper name that is not safe to run', async () => {
    const error = await failure(resolveWith({ credHelpers: { [registry.host]: '../../bin/sh' } }))
    expect(error.message).toBe(
      'Docker config names credential helper "../../bin/sh": only letters, digits, ".", "_" and "-" are allowed'
    )
  })
})

describe('the keychain', () => {
  it('gives ghcr.io the github-token', async () => {
    const keychain = new Keychain({
      githubToken: 'ghs_abc',
      githubActor: 'octocat',
      env: { HOME: '/nonexistent' }
    })
    expect(await keychain.resolve('ghcr.io')).toEqual({ username: 'octocat', password: 'ghs_abc' })
    expect(await keychain.resolve('quay.io')).toBeNull()
  })

  it('matches the Docker Hub config key https://index.docker.io/v1/ to docker.io', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bid-hub-'))
    try {
      writeFileSync(
        join(dir, 'config.json'),
        JSON.stringify({
          auths: {
            'https://index.docker.io/v1/': { auth: Buffer.from('me:hub-pass').toString('base64') }
          }
        })
      )
      const keychain = new Keychain({ env: { DOCKER_CONFIG: dir } })
      expect(await keychain.resolve('docker.io')).toEqual({ username: 'me', password: 'hub-pass' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a malformed entry of config.json is an error for its registry only, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bid-bad-config-'))
    try {
      writeFileSync(
        join(dir, 'config.json'),
        JSON.stringify({
          auths: {
            'ghcr.io': { auth: 5 },
            'quay.io': { auth: Buffer.from('robot:quay-pass').toString('base64') },
            'registry.example.com': 'not-an-object'
          },
          credHelpers: { 'gcr.io': ['gcloud'] }
        })
      )
      const keychain = new Keychain({ env: { DOCKER_CONFIG: dir } })
      const path = join(dir, 'config.json')
      await expect(keychain.resolve('ghcr.io')).rejects.toThrow(
        `${path}: auths["ghcr.io"].auth must be a string, not a number; fix it, or log in again`
      )
      await expect(keychain.resolve('registry.example.com')).rejects.toThrow(
        `${path}: auths["registry.example.com"] must be an object`
      )
      await expect(keychain.resolve('gcr.io')).rejects.toThrow(
        `${path}: credHelpers["gcr.io"] must be a string, not a list`
      )
      expect(await keychain.resolve('quay.io')).toEqual({
        username: 'robot',
        password: 'quay-pass'
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// Docker's registry-mirrors and containerd's hosts.toml: a pull-through cache serves the
// upstream's repositories under the same paths (a Harbor proxy project under its name); the
// digest is the content's, so the mirror's answer is the upstream's
describe('a pull-through mirror', () => {
  const upstream = new TestRegistry()
  const mirror = new TestRegistry()
  let proxy: FaultProxy
  let digest = ''
  beforeAll(async () => {
    await upstream.start()
    await mirror.start()
    proxy = await new FaultProxy(mirror.url).start()
    const spec = { env: ['MIRRORED=1'], created: '2026-01-01T00:00:00Z', layers: ['same'] }
    digest = (
      await new ImagePusher(upstream).pushImage('library/python', spec, { tag: '3.12-slim' })
    ).digest
    // the proxy project of a Harbor: the upstream's repositories under its name
    await new ImagePusher(mirror).pushImage('hub/library/python', spec, { tag: '3.12-slim' })
  })
  afterAll(async () => {
    await proxy.stop()
    await mirror.stop()
    await upstream.stop()
  })
  beforeEach(() => proxy.reset())

  it('resolves through the mirror, keyed by the upstream name; a failing mirror is passed over for the upstream, said once', async () => {
    const reference = parseReference(`${upstream.host}/library/python:3.12-slim`)
    const options = {
      ...FAST,
      maxRetries: 0,
      mirrors: { [upstream.host]: `http://${proxy.host}/hub` }
    }
    await withClient(options, async client => {
      expect(await client.digest(reference)).toBe(digest)
      expect(proxy.seen.map(r => `${r.method} ${r.path}`)).toEqual([
        'HEAD /v2/hub/library/python/manifests/3.12-slim'
      ])
      expect(client.stats.mirrorFallbacks).toEqual([])
    })
    proxy.inject({ status: 503, times: 100 })
    await withClient(options, async client => {
      expect(await client.digest(reference)).toBe(digest)
      const asked = proxy.seen.length
      expect(await client.digest(reference)).toBe(digest)
      // failed once (with the transport's retries), then passed over for the rest of the run
      expect(proxy.seen).toHaveLength(asked)
      expect(client.stats.mirrorFallbacks).toEqual([
        expect.stringMatching(
          new RegExp(
            `^the mirror ${proxy.host.replace(/\./g, '\\.')} of ${upstream.host.replace(/\./g, '\\.')} failed \\(.*503.*\\); ${upstream.host.replace(/\./g, '\\.')} was asked directly for the rest of the run$`
          )
        )
      ])
    })
  })

  it('refuses a mirror entry that is not UPSTREAM=URL, naming it', async () => {
    const { parseMirrors } = await import('../src/registry/mirrors.js')
    expect(parseMirrors(['docker.io=ftp://m'])).toEqual({
      error:
        '"docker.io=ftp://m" is not UPSTREAM=URL (e.g. docker.io=https://mirror.example.com), with an http or https URL and no query or credentials'
    })
    expect(parseMirrors(['index.docker.io=https://mirror.example.com'])).toEqual({
      'docker.io': 'https://mirror.example.com'
    })
  })
})
