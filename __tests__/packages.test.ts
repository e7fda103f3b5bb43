import {
  diffPackages,
  parseApkInstalled,
  parseDpkgStatus,
  parseOsRelease,
  parseSbom,
  sharedObject
} from '../src/explain/packages.js'
import { packageUses } from '../src/sources/dockerfile/uses.js'

describe('package databases', () => {
  it('reads installed dpkg packages, not those only configured or removed', () => {
    const status = [
      'Package: libssl1.1\nStatus: install ok installed\nVersion: 1.1.1w-0+deb11u1\n',
      'Package: old\nStatus: deinstall ok config-files\nVersion: 1\n',
      'Package: libc6\nStatus: install ok installed\nMulti-Arch: same\nVersion: 2.31-13\nDescription: x\n more\n'
    ].join('\n')
    expect(parseDpkgStatus(status)).toEqual([
      { name: 'libssl1.1', version: '1.1.1w-0+deb11u1', type: 'deb' },
      { name: 'libc6', version: '2.31-13', type: 'deb' }
    ])
    // distroless status.d files carry no Status
    expect(parseDpkgStatus('Package: base-files\nVersion: 12.4\n')).toEqual([
      { name: 'base-files', version: '12.4', type: 'deb' }
    ])
  })

  it('reads the apk database and os-release', () => {
    expect(parseApkInstalled('C:Q1x=\nP:musl\nV:1.2.5-r0\n\nP:libcrypto3\nV:3.3.2-r0\n')).toEqual([
      { name: 'musl', version: '1.2.5-r0', type: 'apk' },
      { name: 'libcrypto3', version: '3.3.2-r0', type: 'apk' }
    ])
    expect(
      parseOsRelease(
        'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'
      )
    ).toEqual({
      prettyName: 'Alpine Linux v3.20',
      id: 'alpine',
      versionId: '3.20.3',
      versionCodename: null
    })
    // Debian 9 and older say the codename only in VERSION
    expect(parseOsRelease('ID=debian\nVERSION="9 (stretch)"\n').versionCodename).toBe('stretch')
  })

  it('reads SPDX and CycloneDX documents, by purl type, and refuses anything else', () => {
    expect(
      parseSbom({
        bomFormat: 'CycloneDX',
        components: [
          { name: 'zlib', version: '1.3.1-r1', purl: 'pkg:apk/alpine/zlib@1.3.1-r1' },
          { name: 'no-purl', version: '1' }
        ]
      })
    ).toEqual([{ name: 'zlib', version: '1.3.1-r1', type: 'apk' }])
    expect(parseSbom({ packages: [] })).toBeNull()
    expect(parseSbom('<html>')).toBeNull()
  })

  it('names the shared object a library package installs', () => {
    expect(sharedObject('libssl1.1')).toBe('libssl.so.1.1')
    expect(sharedObject('libc6')).toBe('libc.so.6')
    expect(sharedObject('libssl3t64')).toBe('libssl.so.3')
    expect(sharedObject('libstdc++6')).toBe('libstdc++.so.6')
    expect(sharedObject('bash')).toBeNull()
  })

  it('orders removed shared libraries first and major upgrades before minor ones', () => {
    const deb = (name: string, version: string) => ({ name, version, type: 'deb' })
    const diff = diffPackages(
      [
        deb('aaa-tool', '1'),
        deb('libssl1.1', '1.1.1'),
        deb('libc6', '2.31-13'),
        deb('openssl', '1.1.1')
      ],
      [deb('libssl3', '3.0.11'), deb('libc6', '2.36-9'), deb('openssl', '3.0.11')]
    )
    expect(diff.removed.map(p => p.name)).toEqual(['libssl1.1', 'aaa-tool'])
    expect(diff.added.map(p => p.name)).toEqual(['libssl3'])
    expect(diff.changed.map(c => [c.name, c.major])).toEqual([
      ['openssl', true],
      ['libc6', false]
    ])
  })
})

describe('lines that need a removed package', () => {
  const removed = [{ name: 'libssl1.1', sharedObject: sharedObject('libssl1.1') }]

  it('follows the stages built on the drifted image, and only those', () => {
    const dockerfile = [
      'FROM python:3.12-slim AS base', // 1
      'RUN apt-get update \\', // 2
      '  && apt-get install -y libssl1.1-dev libssl1.1', // 3
      'FROM base AS test', // 4
      'RUN echo libssl1.1x; ldd /app | grep libssl.so.1.1', // 5
      'FROM debian:11', // 6
      'RUN apt-get install -y libssl1.1', // 7
      'FROM test', // 8
      'COPY --from=base /usr/lib/libssl.so.1.1 /x/', // 9
      ''
    ].join('\n')
    expect(packageUses('Dockerfile', dockerfile, 1, removed).map(u => [u.line, u.does])).toEqual([
      [2, 'installs'],
      [5, 'uses'],
      [9, 'copies']
    ])
  })
})
