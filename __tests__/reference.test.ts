import {
  BASELINE_SCHEMA,
  BASELINE_SCHEMA_VERSION,
  parseBaseline
} from '../src/baseline/document.js'
import { parseManifest } from '../src/registry/manifest.js'
import { parsePlatforms } from '../src/config/values.js'
import fc from 'fast-check'
import {
  formatReference,
  InvalidReferenceError,
  parseReference
} from '../src/reference/reference.js'

const DIGEST = 'sha256:' + '0123456789abcdef'.repeat(4)
const normalized = (text: string) => formatReference(parseReference(text))

describe('image references', () => {
  it.each([
    ['python:3.12-slim', 'docker.io/library/python:3.12-slim'],
    ['python', 'docker.io/library/python:latest'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['index.docker.io/library/node:22', 'docker.io/library/node:22'],
    ['index.docker.io/node', 'docker.io/library/node:latest'],
    ['docker.io/node', 'docker.io/library/node:latest'],
    ['ghcr.io/org/team/app:v1.2.3', 'ghcr.io/org/team/app:v1.2.3'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
    ['my-registry.local/a__b/c--d/e.f:TAG_1.0-x', 'my-registry.local/a__b/c--d/e.f:TAG_1.0-x'],
    [`alpine:3.20@${DIGEST}`, `docker.io/library/alpine:3.20@${DIGEST}`],
    [`alpine@${DIGEST}`, `docker.io/library/alpine@${DIGEST}`]
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalized(input)).toBe(expected)
  })

  it.each([
    ['', 'it is empty'],
    ['Ubuntu', 'repository name must be lowercase'],
    ['ghcr.io/Org/app', 'repository name must be lowercase'],
    ['alpine:', 'tag "" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'],
    ['alpine:-x', 'tag "-x" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'],
    [
      `alpine:${'a'.repeat(129)}`,
      `tag "${'a'.repeat(129)}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
    ],
    ['alpine@sha256:abc', 'a sha256 digest must be 64 lowercase hexadecimal characters'],
    [
      `alpine@sha256:${'A'.repeat(64)}`,
      'a sha256 digest must be 64 lowercase hexadecimal characters'
    ],
    ['alpine@md5', 'digest "md5" must be algorithm:hex'],
    ['a b', 'it contains white space'],
    ['ex ample.com/a', 'it contains white space'],
    ['-bad.com/app', 'registry host "-bad.com" is not a valid host name'],
    ['host.com:port/app', 'registry port "port" must be a number'],
    ['0123456789abcdef'.repeat(4), 'a 64-character hexadecimal string is an image ID, not a name'],
    ['a//b', 'path component "" must be lowercase letters, digits and separators (., _, __, -)']
  ])('rejects %j: %s', (input, reason) => {
    let caught: unknown
    try {
      parseReference(input)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidReferenceError)
    expect((caught as InvalidReferenceError).reason).toBe(reason)
  })

  const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,4}){0,2}$/)
  const registry = fc.oneof(
    fc.constant(''),
    fc.constantFrom(
      'docker.io/',
      'index.docker.io/',
      'ghcr.io/',
      'localhost/',
      'localhost:5000/',
      '127.0.0.1:8080/',
      'registry.example.com/'
    )
  )
  const reference = fc
    .tuple(
      registry,
      fc.array(component, { minLength: 1, maxLength: 3 }),
      fc.option(fc.stringMatching(/^[\w][\w.-]{0,20}$/), { nil: undefined }),
      fc.option(fc.stringMatching(/^[a-f0-9]{64}$/), { nil: undefined })
    )
    .map(
      ([host, path, tag, hex]) =>
        `${host}${path.join('/')}${tag !== undefined ? `:${tag}` : ''}${hex !== undefined ? `@sha256:${hex}` : ''}`
    )
    .filter(text => {
      try {
        parseReference(text)
        return true
      } catch {
        return false
      }
    })

  it('normalization is idempotent', () => {
    fc.assert(
      fc.property(reference, text =>
        expect(parseReference(normalized(text))).toEqual(parseReference(text))
      )
    )
  })

  it('printing a parsed normalized reference gives it back', () => {
    fc.assert(
      fc.property(reference, text => expect(normalized(normalized(text))).toBe(normalized(text)))
    )
  })

  it('parsing any string returns a reference or throws the typed error, nothing else', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({
        unit: fc.constantFrom(
          'a',
          'B',
          '0',
          '/',
          ':',
          '@',
          '.',
          '-',
          '_',
          '[',
          ']',
          ' ',
          'sha256:',
          'localhost'
        ),
        maxLength: 40
      })
    )
    fc.assert(
      fc.property(anyString, text => {
        try {
          // whatever parses prints in normalized form and reads back as the same reference
          const parsed = parseReference(text)
          expect(parseReference(formatReference(parsed))).toEqual(parsed)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidReferenceError)
        }
      }),
      { numRuns: 2000 }
    )
  })
})

describe('platforms given as inputs', () => {
  // the same containerd rules as FROM --platform: an OS alone takes the runner's architecture
  it('reads the platforms input and --platforms as containerd does, on the runner they run on', () => {
    expect(
      parsePlatforms(
        'linux, arm64,x86_64 ,linux/arm,linux/arm64/v8',
        'input platforms',
        'linux/arm64'
      )
    ).toEqual(['linux/arm64', 'linux/arm64', 'linux/amd64', 'linux/arm/v7', 'linux/arm64'])
    expect(() => parsePlatforms('linux/amd64,vax', 'input platforms')).toThrow(
      'input platforms: "vax" is not a platform: it is no operating system or architecture known'
    )
  })
})

describe('one digest grammar for references, manifests and the baseline', () => {
  const hex = (n: number, c = 'a') => c.repeat(n)
  // OCI image-spec descriptor.md: `algorithm:encoded`; registered: sha256 and blake3 as 64
  // lowercase hex characters, sha512 as 128
  it.each([
    [`sha256:${hex(64)}`, true],
    [`sha512:${hex(128)}`, true],
    [`blake3:${hex(64)}`, true],
    [`blake3:${hex(64, 'A')}`, false],
    [`sha256:${hex(63)}`, false],
    [`sha512:${hex(64)}`, false],
    [`md5:${hex(32)}`, false],
    [`sha256+b64u:${hex(43)}`, false]
  ])('%s is a digest everywhere: %s', (digest, valid) => {
    const asReference = () => parseReference(`python:3.12@${digest}`)
    const asManifest = () =>
      parseManifest(
        Buffer.from(
          JSON.stringify({
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: 1 },
            layers: []
          })
        ),
        undefined,
        'the manifest'
      )
    const asBaseline = () =>
      parseBaseline(
        JSON.stringify({
          schema: BASELINE_SCHEMA,
          version: BASELINE_SCHEMA_VERSION,
          images: { 'docker.io/library/python:3.12': { digest, recordedAt: 't' } }
        }),
        'the lockfile'
      )
    for (const read of [asReference, asManifest, asBaseline])
      if (valid) expect(read).not.toThrow()
      else expect(read).toThrow()
  })
})
