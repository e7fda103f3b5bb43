import { parseChallenge } from '../src/registry/auth.js'
import { registryFailure } from '../src/registry/remote.js'
import { parseReference } from '../src/reference/reference.js'
import { canonicalRegistry, registryBaseUrl } from '../src/registry/hosts.js'
import { Limiter } from '../src/registry/transport/limit.js'
import { parseRetryAfter } from '../src/registry/transport/retry.js'

describe('registry protocol details', () => {
  it('parses Bearer and Basic challenges, quoted values with escapes and commas', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"'
      )
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/python:pull'
      }
    })
    expect(parseChallenge('basic realm="say \\"hi\\", then go"')).toEqual({
      scheme: 'basic',
      params: { realm: 'say "hi", then go' }
    })
    expect(parseChallenge('Negotiate abc')).toBeNull()
    expect(parseChallenge(undefined)).toBeNull()
  })

  // RFC 9110 §11.6.1: several challenges in one header or in several (joined by commas when
  // read); Gitea >= 1.26 answers a private owner's repository with a Bearer and a Basic
  // header, Forgejo and Codeberg with both in one header
  it.each([
    [
      'Gitea, two headers',
      'Bearer realm="https://gitea.example.com/v2/token",service="container_registry",scope="*", Basic realm="Gitea Package API"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://gitea.example.com/v2/token',
          service: 'container_registry',
          scope: '*'
        }
      }
    ],
    [
      'Forgejo, Basic first in one header',
      'Basic realm="Forgejo Package API", Bearer realm="https://codeberg.org/v2/token",service="container_registry",scope="*"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://codeberg.org/v2/token',
          service: 'container_registry',
          scope: '*'
        }
      }
    ],
    [
      'a realm-less Bearer beside a Basic',
      'Bearer service="x", Basic realm="Registry"',
      { scheme: 'basic', params: { realm: 'Registry' } }
    ],
    [
      'upper-case names, spaces around "=", the first of a name',
      'BEARER  Realm = "https://a/token" , realm="https://b/token"',
      { scheme: 'bearer', params: { realm: 'https://a/token' } }
    ]
  ])('%s: answers the right challenge', (_name, header, challenge) => {
    expect(parseChallenge(header)).toEqual(challenge)
  })

  it('reads no more of a hostile challenge header than its bound', () => {
    const header = `Bearer ${'a="\\",'.repeat(200_000)}realm="https://x/token"`
    expect(parseChallenge(header)?.scheme).toBe('bearer')
    // bounded: what is past the first 8 KiB is not read at all
    expect(parseChallenge(header)?.params.realm).toBeUndefined()
  })

  // each registry's own answer, as its documentation gives it: the OCI distribution spec's
  // error codes (NAME_UNKNOWN, MANIFEST_UNKNOWN, UNAUTHORIZED, DENIED, TOOMANYREQUESTS), ECR's
  // 403 DENIED "Your authorization token has expired", a proxy's HTML error page
  const answer = (status: number, body: string) => ({
    status,
    url: 'https://r/v2/x/manifests/1',
    headers: {},
    body: Buffer.from(body)
  })
  const oci = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] })
  it.each([
    [
      'a repository that is not there',
      answer(404, oci('NAME_UNKNOWN', 'repository name not known to registry')),
      false,
      "quay.io/prometheus/node-exportr:v1.8.2: the repository prometheus/node-exportr does not exist on quay.io (HTTP 404 NAME_UNKNOWN); check the image's name"
    ],
    [
      "Docker Hub's 401 for a name it does not have, or a private one",
      answer(401, oci('UNAUTHORIZED', 'authentication required')),
      false,
      'quay.io/prometheus/node-exportr:v1.8.2: the repository does not exist on quay.io, or it is private (HTTP 401 UNAUTHORIZED; quay.io said: authentication required); check the name, or log in to quay.io (a docker/login-action step, or registry-auth)'
    ],
    [
      "ECR's expired token",
      answer(
        403,
        oci('DENIED', 'Your authorization token has expired. Reauthenticate and try again.')
      ),
      true,
      'quay.io/prometheus/node-exportr:v1.8.2: the credentials for quay.io have expired (HTTP 403 DENIED; quay.io said: Your authorization token has expired. Reauthenticate and try again.); log in again before this step'
    ],
    [
      'a rate limit with its words',
      answer(429, oci('TOOMANYREQUESTS', 'You have reached your pull rate limit.')),
      false,
      'quay.io is rate limiting pulls of quay.io/prometheus/node-exportr:v1.8.2 (HTTP 429 TOOMANYREQUESTS after retries; quay.io said: You have reached your pull rate limit.)'
    ],
    [
      "a proxy's HTML page, as its title",
      answer(
        502,
        '<html><head><title>502 Bad\n Gateway</title></head><body>' + 'x'.repeat(100_000)
      ),
      false,
      'quay.io answered HTTP 502 for the manifest of quay.io/prometheus/node-exportr:v1.8.2; quay.io said: 502 Bad Gateway; the registry is unavailable for now: run again later'
    ]
  ])('%s', (_what, response, loggedIn, message) => {
    const reference = parseReference('quay.io/prometheus/node-exportr:v1.8.2')
    expect(registryFailure(response, reference, 'manifest', loggedIn).message).toBe(message)
  })

  it('reads Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-26T12:00:00Z')
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:05 GMT', now)).toBe(5000)
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeNull()
    expect(parseRetryAfter(undefined, now)).toBeNull()
  })

  it('speaks plain HTTP only to loopback and insecure registries, and Hub at its API host', () => {
    expect(registryBaseUrl('docker.io', [])).toBe('https://registry-1.docker.io')
    expect(registryBaseUrl('localhost:5000', [])).toBe('http://localhost:5000')
    expect(registryBaseUrl('127.0.0.2:5000', [])).toBe('http://127.0.0.2:5000')
    expect(registryBaseUrl('[::1]:5000', [])).toBe('http://[::1]:5000')
    expect(registryBaseUrl('registry.lan:5000', [])).toBe('https://registry.lan:5000')
    expect(registryBaseUrl('registry.lan:5000', ['registry.lan:5000'])).toBe(
      'http://registry.lan:5000'
    )
    expect(
      ['https://index.docker.io/v1/', 'registry-1.docker.io', 'GHCR.IO'].map(canonicalRegistry)
    ).toEqual(['docker.io', 'docker.io', 'ghcr.io'])
  })

  it('runs at most N tasks at once, in order', async () => {
    const limiter = new Limiter(3)
    let active = 0
    let peak = 0
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          active++
          peak = Math.max(peak, active)
          await new Promise(resolve => setTimeout(resolve, 5))
          order.push(i)
          active--
        })
      )
    )
    expect(peak).toBe(3)
    expect(order.slice(0, 3).sort()).toEqual([0, 1, 2])
  })
})

describe('a limiter that moves (AIMD)', () => {
  it('halves at most once a second, grows by one after a limit of successes, and never below 1', () => {
    const limiter = new Limiter(32)
    limiter.backOff(10_000)
    limiter.backOff(10_500) // the same burst of busy answers
    expect(limiter.limit).toBe(16)
    for (let i = 0; i < 15; i++) limiter.grow(64)
    expect(limiter.limit).toBe(16)
    limiter.grow(64)
    expect(limiter.limit).toBe(17)
    for (let t = 0; t < 10; t++) limiter.backOff(20_000 + t * 1000)
    expect(limiter.limit).toBe(1)
    for (let i = 0; i < 1000; i++) limiter.grow(4)
    expect(limiter.limit).toBe(4)
  })
})
