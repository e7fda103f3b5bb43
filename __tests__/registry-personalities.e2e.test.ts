import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ImagePusher } from './harness/images.js'
import { TestRegistry } from './harness/registry.js'
import {
  PersonalityFront,
  type Personality,
  type PersonalityRequest
} from './harness/registry-personality.js'
import { CLI, runNode } from './helpers/run.js'

const USER = 'ci-reader'
const PASSWORD = 'ci-reader-secret'
const PUBLIC = 'acme/public'
const PRIVATE = 'acme/private'

/**
 * Each registry's auth dialect over TLS, in front of the real registry that keeps the images,
 * `resolve` run as a process that trusts the front through NODE_EXTRA_CA_CERTS: a public and
 * a private image resolved to the digests pushed, the credentials sent only where the
 * registry's own challenge sends them.
 */
describe('registries as they ask for credentials', () => {
  const registry = new TestRegistry()
  const digests: Record<string, string> = {}
  let dir = ''
  let front: PersonalityFront | null = null

  beforeAll(async () => {
    await registry.start()
    const pusher = new ImagePusher(registry)
    for (const repo of [PUBLIC, PRIVATE])
      digests[repo] = (await pusher.pushImage(repo, { env: [`REPO=${repo}`] }, { tag: '1' })).digest
  })
  afterAll(() => registry.stop())
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bid-personality-'))
  })
  afterEach(async () => {
    await front?.stop()
    front = null
    rmSync(dir, { recursive: true, force: true })
  })

  /** `resolve --json` of both images, with `auth` as the Docker config's entry for the registry. */
  async function resolveThrough(personality: Personality, auth: object | null) {
    front = await new PersonalityFront(registry.url, personality, dir).start()
    const config = join(dir, 'docker')
    mkdirSync(config, { recursive: true })
    writeFileSync(
      join(config, 'config.json'),
      JSON.stringify({ auths: auth ? { [front.host]: auth } : {} })
    )
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${front.host}/${PUBLIC}:1\nFROM ${front.host}/${PRIVATE}:1\n`
    )
    const ran = await runNode(CLI, ['resolve', '--json', '--timeout', '10', 'Dockerfile'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        DOCKER_CONFIG: config,
        NODE_EXTRA_CA_CERTS: front.certPath
      }
    })
    const references = JSON.parse(ran.stdout).references as {
      image: string
      digest: string | null
      error: string | null
    }[]
    const of = (repo: string) => references.find(r => r.image.includes(`/${repo}:`))!
    return { ran, public: of(PUBLIC), private: of(PRIVATE), requests: front.requests }
  }
  const basic = { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') }
  const sentTo = (requests: PersonalityRequest[], host: PersonalityRequest['host']) =>
    requests.filter(r => r.host === host).map(r => r.authorization?.split(' ')[0] ?? 'none')

  // Gitea (routers/api/packages/api.go, container/container.go and its integration test):
  // since 1.17 one Bearer challenge, realm AppURL + "v2/token", service "container_registry",
  // scope "*"; 1.26.0 adds a second header, `Basic realm="Gitea Container Registry"` (PR
  // #36920). GET /v2/token takes Basic or nothing (an anonymous token), answers `{"token"}`
  // without expires_in; an anonymous token on a private owner is answered with
  // `Basic realm="Gitea Package API"` (reqPackageAccess). Forgejo, as Codeberg serves it:
  // both challenges in one field, the Basic realm `https://codeberg.org/v2`.
  const gitea = (challenges: string[]): Personality => ({
    challenges,
    tokenPath: '/v2/token',
    tokenBody: token => ({ token }),
    rechallenge: ['Basic realm="Gitea Package API"'],
    users: { [USER]: PASSWORD },
    privateRepositories: [PRIVATE]
  })
  const GITEA_BEARER = 'Bearer realm="{realm}",service="container_registry",scope="*"'

  it.each([
    ['Gitea 1.17 to 1.25: one Bearer challenge', [GITEA_BEARER]],
    [
      'Gitea 1.26: a Bearer and a Basic header',
      [GITEA_BEARER, 'Basic realm="Gitea Container Registry"']
    ],
    [
      'Forgejo and Codeberg: both in one header',
      [
        `${GITEA_BEARER},Basic realm="https://codeberg.org/v2",service="container_registry",scope="*"`
      ]
    ]
  ])('%s: tokens from the Bearer realm, never the Basic one', async (_, challenges) => {
    const anonymous = await resolveThrough(gitea(challenges), null)
    expect(anonymous.public.digest).toBe(digests[PUBLIC])
    // the private package without credentials: not found or private, and what to do
    expect(anonymous.private.error).toContain('the repository does not exist on')
    expect(anonymous.private.error).toContain('or it is private')
    expect(new Set(anonymous.requests.filter(r => r.host === 'token').map(r => r.path))).toEqual(
      new Set(['/v2/token'])
    )
    await front!.stop()
    const logged = await resolveThrough(gitea(challenges), basic)
    expect([logged.public.digest, logged.private.digest]).toEqual([
      digests[PUBLIC],
      digests[PRIVATE]
    ])
    expect(logged.ran.stderr).toBe('')
    // Basic goes to the token service only; the registry sees Bearer tokens
    expect(new Set(sentTo(logged.requests, 'registry'))).toEqual(new Set(['none', 'Bearer']))
    expect(new Set(sentTo(logged.requests, 'token'))).toEqual(new Set(['Basic']))
  })

  // Quay (auth/registry_jwt_auth.py, endpoints/v2/v2auth.py): `Bearer realm="APP_URL/v2/auth",
  // service="SERVER_HOSTNAME"`, a scope only where the repository is known: the client names
  // `repository:NAME:pull` itself, and the token, `{"token"}` alone, is for that
  it('Quay: a challenge without a scope, a token asked for each repository', async () => {
    const quay: Personality = {
      challenges: ['Bearer realm="{realm}",service="quay.io"'],
      tokenPath: '/v2/auth',
      tokenBody: token => ({ token }),
      scopedTokens: true,
      users: { [USER]: PASSWORD },
      privateRepositories: [PRIVATE]
    }
    const got = await resolveThrough(quay, basic)
    expect([got.public.digest, got.private.digest]).toEqual([digests[PUBLIC], digests[PRIVATE]])
    expect(
      got.requests
        .filter(r => r.host === 'token')
        .map(r => [r.params.service, r.params.scope])
        .sort()
    ).toEqual([
      ['quay.io', `repository:${PRIVATE}:pull`],
      ['quay.io', `repository:${PUBLIC}:pull`]
    ])
  })

  // GitLab (gitlab-org/container-registry docs/auth-request-flow.md; gitlabhq config/routes.rb):
  // registry.gitlab.com challenges with a realm on gitlab.com (`https://gitlab.com/jwt/auth`,
  // service "container_registry", the repository's scope): the token service is another host,
  // which the registry itself names, and the credentials go there on a GET
  it('GitLab: the realm on another host gets the credentials, the registry only the token', async () => {
    const gitlab: Personality = {
      challenges: [
        `Bearer realm="{realm}",service="container_registry",scope="repository:${PRIVATE}:pull"`
      ],
      tokenPath: '/jwt/auth',
      tokenElsewhere: true,
      users: { [USER]: PASSWORD },
      privateRepositories: [PRIVATE]
    }
    const got = await resolveThrough(gitlab, basic)
    expect([got.public.digest, got.private.digest]).toEqual([digests[PUBLIC], digests[PRIVATE]])
    expect(new Set(sentTo(got.requests, 'token'))).toEqual(new Set(['Basic']))
    expect(sentTo(got.requests, 'registry')).not.toContain('Basic')
    expect(front!.tokenHost).toMatch(/^localhost:/)
  })

  // Azure Container Registry (Azure/acr docs/AAD-OAuth.md): `Bearer realm="https://REG/oauth2/token",
  // service="REG"`; a login with an Entra ID refresh token (user 00000000-0000-0000-0000-000000000000)
  // is kept as `identitytoken`, exchanged at /oauth2/token by a POST of grant_type=refresh_token
  // with service and scope, for `{"access_token"}` (no `token` field)
  it('ACR: the identity token exchanged for an access token by an OAuth2 refresh-token POST', async () => {
    const acr: Personality = {
      challenges: ['Bearer realm="{realm}",service="acme.azurecr.io"'],
      tokenPath: '/oauth2/token',
      tokenMethods: ['POST'],
      tokenBody: token => ({ access_token: token }),
      identityTokens: { 'entra-refresh-token': USER },
      privateRepositories: [PUBLIC, PRIVATE]
    }
    const got = await resolveThrough(acr, {
      auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64'),
      identitytoken: 'entra-refresh-token'
    })
    expect(got.ran.stderr).toBe('')
    expect([got.public.digest, got.private.digest]).toEqual([digests[PUBLIC], digests[PRIVATE]])
    const exchanges = got.requests.filter(r => r.host === 'token')
    expect(exchanges.map(r => [r.method, r.params.grant_type, r.params.service])).toEqual(
      exchanges.map(() => ['POST', 'refresh_token', 'acme.azurecr.io'])
    )
    expect(exchanges.map(r => r.params.refresh_token)).toContain('entra-refresh-token')
  })

  // Amazon ECR (closed source: as Renovate's docker datasource and aws-cli#6580 record it):
  // Basic only (`Basic realm="https://ACCOUNT.dkr.ecr.REGION.amazonaws.com/",
  // service="ecr.amazonaws.com"`, a text/plain "Not Authorized"), user AWS and the 12-hour
  // password of get-login-password; once that expires, DENIED "Your authorization token has
  // expired. Reauthenticate and try again."
  const ECR_EXPIRED =
    '{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}'
  const ecr: Personality = {
    challenges: [
      'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"'
    ],
    tokenPath: null,
    unauthorized: { body: 'Not Authorized\n', type: 'text/plain; charset=utf-8' },
    basicOnRegistry: true,
    users: { AWS: 'ecr-login-password' },
    expired: { password: 'yesterdays-password', body: ECR_EXPIRED },
    privateRepositories: [PUBLIC, PRIVATE]
  }
  const aws = (password: string) => ({
    auth: Buffer.from(`AWS:${password}`).toString('base64')
  })

  it('ECR: Basic on the registry itself, no token service', async () => {
    const got = await resolveThrough(ecr, aws('ecr-login-password'))
    expect([got.public.digest, got.private.digest]).toEqual([digests[PUBLIC], digests[PRIVATE]])
    expect(got.requests.filter(r => r.host === 'token')).toEqual([])
    expect(new Set(sentTo(got.requests, 'registry'))).toEqual(new Set(['none', 'Basic']))
  })

  it("ECR: an expired login says the registry's own words and what to do", async () => {
    const got = await resolveThrough(ecr, aws('yesterdays-password'))
    expect(got.ran.status).toBe(4)
    for (const reference of [got.public, got.private]) {
      expect(reference.digest).toBeNull()
      expect(reference.error).toContain('Your authorization token has expired')
      expect(reference.error).not.toContain('yesterdays-password')
    }
    expect(got.ran.stdout + got.ran.stderr).not.toContain('yesterdays-password')
  })

  // Harbor (src/server/middleware/v2auth/auth.go and its test; src/core/service/token): a
  // Bearer challenge with realm /service/token, service "harbor-registry" and the
  // repository's scope; GET only (POST is 405); `{"token", "access_token": "", "expires_in":
  // 1800}`. A request whose Authorization is refused gets `Basic realm="harbor"`, and Basic
  // credentials are taken on the registry itself: a system robot's token that does not open
  // the project (goharbor/harbor#23799) is answered that way
  it('Harbor: a refused token re-challenged as Basic, answered with Basic once', async () => {
    const harbor: Personality = {
      challenges: [
        'Bearer realm="{realm}",service="harbor-registry",scope="repository:acme/public:pull"'
      ],
      tokenPath: '/service/token',
      tokenBody: token => ({ token, access_token: '', expires_in: 1800 }),
      rechallenge: ['Basic realm="harbor"'],
      tokensRefusedForPrivate: true,
      basicOnRegistry: true,
      users: { robot$ci: PASSWORD },
      privateRepositories: [PRIVATE]
    }
    const got = await resolveThrough(harbor, {
      auth: Buffer.from(`robot$ci:${PASSWORD}`).toString('base64')
    })
    expect(got.ran.stderr).toBe('')
    expect([got.public.digest, got.private.digest]).toEqual([digests[PUBLIC], digests[PRIVATE]])
    // in each repository's order (the two are asked at once)
    const asked = (repo: string) =>
      got.requests
        .filter(r => r.host === 'registry' && r.path.startsWith(`/v2/${repo}/`))
        .map(r => `${r.authorization?.split(' ')[0] ?? 'none'} ${r.status}`)
    // one request learns the challenge, alone; then a token, and for the private project the
    // re-challenge answered at once, without a second token
    const [first] = got.requests.filter(r => r.host === 'registry')
    expect([first.authorization, first.status]).toEqual([null, 401])
    expect(asked(PUBLIC).filter(a => a !== 'none 401')).toEqual(['Bearer 200'])
    expect(asked(PRIVATE).filter(a => a !== 'none 401')).toEqual(['Bearer 401', 'Basic 200'])
    expect(got.requests.filter(r => r.host === 'token').map(r => r.method)).not.toContain('POST')
  })

  it.each([
    ['a number', { token: 5 }],
    ['a header break', { token: 'abc\r\nX-Injected: 1' }],
    ['nothing', { expires_in: 300 }]
  ])(
    "a token service's answer holding %s is an error for its images, never sent on",
    async (_, body) => {
      const hostile: Personality = {
        challenges: ['Bearer realm="{realm}",service="hostile"'],
        tokenPath: '/token',
        tokenBody: () => body,
        privateRepositories: []
      }
      const got = await resolveThrough(hostile, null)
      for (const reference of [got.public, got.private]) {
        expect(reference.digest).toBeNull()
        expect(reference.error).toContain(
          `token service for ${front!.host} (${front!.host}) answered without a token`
        )
      }
      expect(sentTo(got.requests, 'registry')).toEqual(
        got.requests.filter(r => r.host === 'registry').map(() => 'none')
      )
    }
  )

  it.each([302, 307] as const)(
    'a token service that redirects (%d) to another host never gets the identity token there',
    async status => {
      const acr: Personality = {
        challenges: ['Bearer realm="{realm}",service="acme.azurecr.io"'],
        tokenPath: '/oauth2/token',
        tokenRedirect: status,
        tokenMethods: ['POST'],
        tokenBody: token => ({ access_token: token }),
        identityTokens: { 'entra-refresh-token': USER },
        privateRepositories: [PUBLIC, PRIVATE]
      }
      const got = await resolveThrough(acr, { identitytoken: 'entra-refresh-token' })
      // the other host is never asked
      expect(got.requests.filter(r => r.host === 'token')).toEqual([])
      expect(got.public.error).toContain(`${front!.host} redirected a token request to localhost:`)
      expect(got.public.error).toContain('never sent to another host')
    }
  )

  // GHCR (closed source; as podman-desktop's and Renovate's fixtures record it): `Bearer
  // realm="https://ghcr.io/token",service="ghcr.io",scope="repository:NAME:pull"`; GET
  // /token anonymous for public packages, Basic (user and a token) for private ones
  it('GHCR: anonymous tokens for a public package, the login for a private one', async () => {
    const ghcr: Personality = {
      challenges: ['Bearer realm="{realm}",service="ghcr.io",scope="repository:acme/public:pull"'],
      tokenPath: '/token',
      tokenBody: token => ({ token }),
      scopedTokens: true,
      users: { [USER]: PASSWORD },
      privateRepositories: [PRIVATE]
    }
    const anonymous = await resolveThrough(ghcr, null)
    expect(anonymous.public.digest).toBe(digests[PUBLIC])
    expect(anonymous.private.digest).toBeNull()
    await front!.stop()
    const logged = await resolveThrough(ghcr, basic)
    expect([logged.public.digest, logged.private.digest]).toEqual([
      digests[PUBLIC],
      digests[PRIVATE]
    ])
  })
})
