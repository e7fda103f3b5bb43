/**
 * Reads an image's package database and os-release out of its layers, streamed and bounded.
 */
import { posix } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { PassThrough, Transform } from 'node:stream'
import * as zlib from 'node:zlib'
import tar from 'tar-stream'
import type { ImageReference } from '../reference/reference.js'
import { RegistryError } from '../registry/errors.js'
import type { Descriptor } from '../registry/manifest.js'
import type { RegistryClient } from '../registry/remote.js'

/** The files inside an image that say what is installed and which OS it is. */
export const DPKG_STATUS = 'var/lib/dpkg/status'
export const DPKG_STATUS_D = 'var/lib/dpkg/status.d/'
export const APK_INSTALLED = 'lib/apk/db/installed'
export const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release']
/** RPM databases: recognised, not read. */
const RPM_DATABASE = /^(usr\/lib\/sysimage\/rpm|var\/lib\/rpm)\/(rpmdb\.sqlite|Packages(\.db)?)$/
const SINGLE_FILES = [DPKG_STATUS, APK_INSTALLED, ...OS_RELEASE]
/** Layers expand by more than this only when built to (a decompression bomb): reading stops. */
const MAX_EXPANSION = 20
/** A package database larger than this is not one. */
const MAX_FILE_BYTES = 32 * 1024 * 1024
/** The package databases kept per image, all files together: what one explanation may hold. */
const MAX_KEPT_BYTES = 48 * 1024 * 1024

export interface ImageFiles {
  /** Path (without a leading `/`) → content, as the image's top-most layer holding it has it. */
  files: Map<string, string>
  /** Compressed bytes read. */
  bytesRead: number
  /** Why the layers could not all be read (the budget, a compression Node cannot read). */
  incomplete?: string
  /** An RPM database was seen: the image's packages are RPMs, which are not read. */
  rpm?: boolean
}

/**
 * The package database and os-release of an image, read from its layers top first, each
 * layer streamed and decompressed on the fly, stopping as soon as the answer is known.
 * Whiteouts (`.wh.name`, `.wh..wh..opq`) in upper layers hide what lower layers hold. At
 * most `budgetBytes` of compressed layer data are read.
 */
export async function readImageFiles(
  client: RegistryClient,
  reference: ImageReference,
  layers: Descriptor[],
  budgetBytes: number,
  /** False when the config already says the OS release: then os-release does not keep the reading going. */
  needOsRelease = true
): Promise<ImageFiles> {
  const files = new Map<string, string>()
  /** Paths whose top-most state is known: read, or deleted by a whiteout above. */
  const decided = new Set<string>()
  /** Directories an upper layer replaced (opaque whiteout) or deleted, `dir/`. */
  const hiddenDirs = new Set<string>()
  let bytesRead = 0
  let expanded = 0
  const maxExpanded = budgetBytes * MAX_EXPANSION
  let statusD = false
  let rpm = false
  let kept = 0
  // each of the path's own directories looked up: not every hidden directory compared with every path
  const hidden = (path: string) => {
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1))
      if (hiddenDirs.has(path.slice(0, slash + 1))) return true
    return false
  }
  const done = () =>
    !statusD &&
    (decided.has(DPKG_STATUS) || decided.has(APK_INSTALLED)) &&
    (!needOsRelease || OS_RELEASE.some(path => decided.has(path)))

  for (const layer of [...layers].reverse()) {
    if (done()) break
    const left = budgetBytes - bytesRead
    if (left <= 0) return { files, bytesRead, incomplete: budgetNote(budgetBytes) }
    const decompress = decompressor(layer.mediaType)
    if (decompress === null)
      return {
        files,
        bytesRead,
        incomplete: `a layer is ${layer.mediaType}, which this Node.js cannot decompress`
      }
    const stream = await client.layer(reference, layer, left)
    let size = 0
    // counted in the pipeline: a 'data' listener would switch off backpressure and buffer the layer
    const counted = new Transform({
      transform(chunk: Buffer, _, done) {
        size += chunk.length
        done(null, chunk)
      }
    })
    const bounded = new Transform({
      transform(chunk: Buffer, _, done) {
        expanded += chunk.length
        if (expanded > maxExpanded) done(new ExpansionLimit())
        else done(null, chunk)
      }
    })
    const extract = tar.extract()
    const newlyHidden: string[] = []
    const reading = pipeline(stream, counted, decompress, bounded, extract).then(
      () => null,
      (error: unknown) => error
    )
    let stoppedEarly = false
    let broken: unknown = null
    try {
      for await (const entry of extract) {
        const path = normalize(entry.header.name)
        const base = posix.basename(path)
        const dir = posix.dirname(path)
        if (base === '.wh..wh..opq') {
          newlyHidden.push(`${dir}/`)
        } else if (base.startsWith('.wh.')) {
          const gone = dir === '.' ? base.slice(4) : `${dir}/${base.slice(4)}`
          if (!decided.has(gone) && !hidden(gone)) decided.add(gone)
          newlyHidden.push(`${gone}/`)
        } else if (RPM_DATABASE.test(path)) {
          rpm = true
        } else if (
          entry.header.type === 'file' &&
          wanted(path) &&
          !decided.has(path) &&
          !hidden(path) &&
          (entry.header.size ?? 0) <= MAX_FILE_BYTES
        ) {
          kept += entry.header.size ?? 0
          // many status.d files of 32 MiB each from a little gzip: stop before they fill memory
          if (kept > MAX_KEPT_BYTES) {
            stream.destroy()
            // a database read in part would list what it did not reach as removed: none of it is kept
            for (const path of files.keys()) if (path.startsWith(DPKG_STATUS_D)) files.delete(path)
            return {
              files,
              bytesRead: bytesRead + size,
              incomplete: `its package databases hold more than ${MAX_KEPT_BYTES / 1024 / 1024} MiB; reading stopped`
            }
          }
          files.set(path, await text(entry))
          decided.add(path)
          if (path.startsWith(DPKG_STATUS_D)) statusD = true
          continue
        }
        entry.resume()
        // once this layer settled the question, the rest of it is not needed
        if (done()) {
          stoppedEarly = true
          break
        }
      }
    } catch (error) {
      broken = error
    } finally {
      stream.destroy()
      extract.destroy()
    }
    const failure = broken ?? (await reading)
    bytesRead += size
    for (const dir of newlyHidden) hiddenDirs.add(dir)
    if (failure instanceof RegistryError && failure.kind === 'too-large')
      return { files, bytesRead, incomplete: budgetNote(budgetBytes) }
    if (failure instanceof ExpansionLimit)
      return {
        files,
        bytesRead,
        incomplete: `the layers expand to more than ${MAX_EXPANSION} times the explain budget; reading stopped`
      }
    if (failure instanceof RegistryError) throw failure
    if (failure !== null && !stoppedEarly)
      return {
        files,
        bytesRead,
        incomplete: `layer ${layer.digest} could not be read (${(failure as Error).message})`
      }
  }
  return { files, bytesRead, ...(rpm ? { rpm } : {}) }
}

class ExpansionLimit extends Error {
  constructor() {
    super('decompressed layer data over the limit')
    this.name = 'ExpansionLimit'
  }
}

function wanted(path: string): boolean {
  return (
    SINGLE_FILES.includes(path) || (path.startsWith(DPKG_STATUS_D) && !path.endsWith('.md5sums'))
  )
}

function normalize(name: string): string {
  return posix
    .normalize(name)
    .replace(/^(\.\/|\/)+/, '')
    .replace(/\/$/, '')
}

function budgetNote(budgetBytes: number): string {
  return `the layers are larger than the explain budget of ${Math.round(budgetBytes / 1024 / 1024)} MiB (input explain-budget)`
}

/** gzip, zstd (where this Node.js has it) or plain tar. */
function decompressor(mediaType: string): Transform | null {
  if (/zstd/.test(mediaType)) {
    const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform })
      .createZstdDecompress
    return zstd ? zstd() : null
  }
  if (/gzip/.test(mediaType)) return zlib.createGunzip()
  return new PassThrough()
}

async function text(entry: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of entry) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
