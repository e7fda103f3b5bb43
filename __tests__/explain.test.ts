import { baseOs, diffImages, type ImageFacts } from '../src/explain/diff.js'
import { explanationMarkdown, explanationSummary } from '../src/report/explanation-text.js'

const facts = (
  env: string[],
  history: string[] = [],
  labels: Record<string, string> = {},
  layers = { count: 2, size: 3 * 1024 * 1024 }
): ImageFacts => ({
  digest: 'sha256:' + '0'.repeat(64),
  config: {
    created: '2026-01-01T00:00:00Z',
    config: { Env: env, Labels: labels },
    history: history.map(created_by => ({ created_by }))
  },
  layers,
  annotations: {}
})

describe('explaining a drift', () => {
  it.each([
    [
      [
        "/bin/sh -c #(nop) ADD file:abc in / # debian.sh --arch 'arm64' out/ 'trixie' '@1750000000'"
      ],
      {},
      'Debian trixie'
    ],
    [
      ['/bin/sh -c #(nop) ADD file:alpine-minirootfs-3.20.3-x86_64.tar.gz in / '],
      {},
      'Alpine 3.20.3'
    ],
    [
      [],
      {
        'org.opencontainers.image.ref.name': 'ubuntu',
        'org.opencontainers.image.version': '24.04'
      },
      'ubuntu 24.04'
    ],
    [['RUN make'], {}, null]
  ])('finds the base OS release in %j %j', (history, labels, os) => {
    expect(baseOs(facts([], history, labels).config)).toBe(os)
  })

  it('ranks a base OS change first, then a runtime major/minor change, then a rebuild', () => {
    const debian = (suite: string) => [`ADD rootfs # debian.sh --arch 'amd64' out/ '${suite}' '@1'`]
    const os = diffImages(
      facts(['PYTHON_VERSION=3.12.2'], debian('bullseye')),
      facts(['PYTHON_VERSION=3.12.3'], debian('bookworm')),
      'linux/amd64'
    )
    expect(os.severity).toBe('os')
    expect(explanationSummary(os)).toBe(
      'Debian bullseye → bookworm; PYTHON_VERSION 3.12.2 → 3.12.3'
    )
    const runtime = diffImages(
      facts(['NODE_VERSION=20.11.0']),
      facts(['NODE_VERSION=22.1.0']),
      'linux/amd64'
    )
    expect(runtime.severity).toBe('major')
    expect(explanationSummary(runtime)).toBe('NODE_VERSION 20.11.0 → 22.1.0')
    expect(
      diffImages(facts(['NODE_VERSION=20.11.0']), facts(['NODE_VERSION=20.11.1']), 'linux/amd64')
        .severity
    ).toBe('rebuild')
  })

  it('lists changed, added and removed variables, labels and layer changes', () => {
    const e = diffImages(
      facts(['A=1', 'GONE=x'], [], { 'org.opencontainers.image.revision': 'abc' }),
      facts(
        ['A=2', 'NEW=y'],
        [],
        { 'org.opencontainers.image.revision': 'def' },
        { count: 3, size: 4 * 1024 * 1024 }
      ),
      'linux/arm64'
    )
    expect(e.env).toEqual([
      { name: 'A', before: '1', after: '2' },
      { name: 'GONE', before: 'x' },
      { name: 'NEW', after: 'y' }
    ])
    expect(e.labels).toEqual([
      { name: 'org.opencontainers.image.revision', before: 'abc', after: 'def' }
    ])
    expect(explanationSummary(e)).toBe('4 other config changes; layers 2 → 3 (3.0 MiB → 4.0 MiB)')
  })

  it('leaves out layer sizes that print the same: a few bytes of rebuild timestamps are no news', () => {
    const e = diffImages(
      facts(['A=1'], [], {}, { count: 2, size: 3 * 1024 * 1024 }),
      facts(['A=2'], [], {}, { count: 2, size: 3 * 1024 * 1024 + 17 }),
      'linux/amd64'
    )
    expect(explanationSummary(e)).toBe('1 other config change')
  })
})

describe('explaining by packages', () => {
  const deb = (count: number, version: string) =>
    Array.from({ length: count }, (_, i) => ({ name: `pkg${i}`, version, type: 'deb' }))
  const withPackages = (facts0: ImageFacts, packages: ReturnType<typeof deb>): ImageFacts => ({
    ...facts0,
    contents: { packages: { from: 'dpkg', packages }, osRelease: null }
  })

  it('folds a long package list in the report, showing the most important rows first', () => {
    const before = withPackages(facts(['A=1']), [
      ...deb(25, '1.0-1'),
      { name: 'libssl1.1', version: '1.1.1w', type: 'deb' }
    ])
    const after = withPackages(facts(['A=1']), deb(25, '1.0-2'))
    const e = diffImages(before, after, 'linux/amd64')
    expect(e.severity).toBe('removed')
    const markdown = explanationMarkdown(e).join('\n')
    expect(markdown).toContain(
      'Packages (from the dpkg database): 1 removed, 0 added, 25 changed version.'
    )
    const visible = markdown.slice(0, markdown.indexOf('<details>'))
    expect(visible.split('\n').filter(l => l.startsWith('| `'))).toHaveLength(10)
    expect(visible).toContain('| `libssl1.1` | `1.1.1w` | **removed** |')
    expect(markdown).toContain('<details><summary>16 more package changes</summary>')
    expect(
      markdown
        .slice(markdown.indexOf('<details>'))
        .split('\n')
        .filter(l => l.startsWith('| `'))
    ).toHaveLength(16)
  })

  it('says why packages were not compared, and still explains the rest', () => {
    const e = diffImages(
      {
        ...facts(['A=1']),
        contents: { packages: null, osRelease: null, incomplete: 'the budget' }
      },
      { ...facts(['A=2']), contents: { packages: null, osRelease: null } },
      'linux/amd64'
    )
    expect(e.packages).toEqual({ unavailable: 'the budget' })
    expect(explanationMarkdown(e)).toContain('Packages not compared: the budget.')
    expect(e.severity).toBe('rebuild')
  })
})
