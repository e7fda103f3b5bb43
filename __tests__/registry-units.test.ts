import { parseChallenge } from '../src/registry/auth.js'
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
