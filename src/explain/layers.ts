/**
 * Reads an image's package database and os-release out of its layers, streamed and bounded.
 */
import { posix } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { PassThrough, Transform } from 'node:stream'
import * as zlib from 'node:zlib'
import tar from 'tar-stream'
import type { ImageReference } from '../reference/reference.js'
import { RegistryError } from '../registry/transport/errors.js'
import { messageOf } from '../errors.js'
import type { Descriptor } from '../registry/manifest.js'
import type { RegistryClient } from '../registry/remote.js'
import { databaseHolding } from './databases.js'

/** The files inside an image that say which OS it is; what is installed: DATABASES. */
export const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release']
/** RPM databases: recognised, not read. */
const RPM_DATABASE = /^(usr\/lib\/sysimage\/rpm|var\/lib\/rpm)\/(rpmdb\.sqlite|Packages(\.db)?)$/
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
  const walk = new LayerWalk(budgetBytes, needOsRelease)
  for (const layer of [...layers].reverse()) {
    if (walk.done()) break
    const stopped = await walk.read(client, reference, layer)
    if (stopped) return stopped
  }
  return walk.found()
}

/** A file of a layer's tar, as tar-stream hands it over. */
type TarEntry = AsyncIterable<unknown> & {
  header: { name: string; type?: string | null; size?: number | null }
  resume(): void
}

/** What one entry of a layer did: kept, passed over, settled the question, or overfilled memory. */
type EntryOutcome = 'kept' | 'passed' | 'settled' | 'too-much'

/** The walk down an image's layers: what is known so far, and what upper layers hid. */
class LayerWalk {
  private readonly files = new Map<string, string>()
  /** Paths whose top-most state is known: read, or deleted by a whiteout above. */
  private readonly decided = new Set<string>()
  /** A file that settles a package database is decided (kept, or hidden above). */
  private databaseSettled = false
  /** Directories an upper layer replaced (opaque whiteout) or deleted, `dir/`. */
  private readonly hiddenDirs = new Set<string>()
  private bytesRead = 0
  private expanded = 0
  /** A database file was kept that does not settle its database (a directory of them). */
  private unsettled = false
  private rpm = false
  private kept = 0

  constructor(
    private readonly budgetBytes: number,
    private readonly needOsRelease: boolean
  ) {}

  private decide(path: string): void {
    this.decided.add(path)
    if (databaseHolding(path)?.settles(path) === true) this.databaseSettled = true
  }

  /** Whether the layers read so far settle the package database and the OS release. */
  done(): boolean {
    return (
      !this.unsettled &&
      this.databaseSettled &&
      (!this.needOsRelease || OS_RELEASE.some(path => this.decided.has(path)))
    )
  }

  found(): ImageFiles {
    return { files: this.files, bytesRead: this.bytesRead, ...(this.rpm ? { rpm: true } : {}) }
  }

  private stop(incomplete: string): ImageFiles {
    return { files: this.files, bytesRead: this.bytesRead, incomplete }
  }

  /** Each of the path's own directories looked up: not every hidden directory compared with every path. */
  private hidden(path: string): boolean {
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1))
      if (this.hiddenDirs.has(path.slice(0, slash + 1))) return true
    return false
  }

  /** Reads one layer; what the walk ends with, when it must end here. */
  async read(
    client: RegistryClient,
    reference: ImageReference,
    layer: Descriptor
  ): Promise<ImageFiles | null> {
    const left = this.budgetBytes - this.bytesRead
    if (left <= 0) return this.stop(budgetNote(this.budgetBytes))
    const decompress = decompressor(layer.mediaType)
    if (decompress === null)
      return this.stop(`a layer is ${layer.mediaType}, which this Node.js cannot decompress`)
    const stream = await client.layer(reference, layer, left)
    let size = 0
    // counted in the pipeline: a 'data' listener would switch off backpressure and buffer the layer
    const counted = new Transform({
      transform(chunk: Buffer, _, done) {
        size += chunk.length
        done(null, chunk)
      }
    })
    const maxExpanded = this.budgetBytes * MAX_EXPANSION
    const bounded = new Transform({
      transform: (chunk: Buffer, _, done) => {
        this.expanded += chunk.length
        if (this.expanded > maxExpanded) done(new ExpansionLimit())
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
        const outcome = await this.entry(entry, newlyHidden)
        if (outcome === 'too-much') {
          // a database read in part would list what it did not reach as removed: none of it is kept
          for (const path of this.files.keys())
            if (databaseHolding(path)?.settles(path) === false) this.files.delete(path)
          this.bytesRead += size
          return this.stop(
            `its package databases hold more than ${MAX_KEPT_BYTES / 1024 / 1024} MiB; reading stopped`
          )
        }
        // once this layer settled the question, the rest of it is not needed
        if (outcome === 'settled') {
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
    this.bytesRead += size
    for (const dir of newlyHidden) this.hiddenDirs.add(dir)
    if (failure instanceof RegistryError && failure.kind === 'too-large')
      return this.stop(budgetNote(this.budgetBytes))
    if (failure instanceof ExpansionLimit)
      return this.stop(
        `the layers expand to more than ${MAX_EXPANSION} times the explain budget; reading stopped`
      )
    if (failure instanceof RegistryError) throw failure
    if (failure !== null && !stoppedEarly)
      return this.stop(`layer ${layer.digest} could not be read (${messageOf(failure)})`)
    return null
  }

  private async entry(entry: TarEntry, newlyHidden: string[]): Promise<EntryOutcome> {
    const path = normalize(entry.header.name)
    const base = posix.basename(path)
    const dir = posix.dirname(path)
    if (base === '.wh..wh..opq') {
      newlyHidden.push(`${dir}/`)
    } else if (base.startsWith('.wh.')) {
      const gone = dir === '.' ? base.slice(4) : `${dir}/${base.slice(4)}`
      if (!this.decided.has(gone) && !this.hidden(gone)) this.decide(gone)
      newlyHidden.push(`${gone}/`)
    } else if (RPM_DATABASE.test(path)) {
      this.rpm = true
    } else if (
      entry.header.type === 'file' &&
      wanted(path) &&
      !this.decided.has(path) &&
      !this.hidden(path) &&
      (entry.header.size ?? 0) <= MAX_FILE_BYTES
    ) {
      this.kept += entry.header.size ?? 0
      // many status.d files of 32 MiB each from a little gzip: stop before they fill memory
      if (this.kept > MAX_KEPT_BYTES) return 'too-much'
      this.files.set(path, await text(entry))
      this.decide(path)
      if (databaseHolding(path)?.settles(path) === false) this.unsettled = true
      return 'kept'
    }
    entry.resume()
    return this.done() ? 'settled' : 'passed'
  }
}

class ExpansionLimit extends Error {
  constructor() {
    super('decompressed layer data over the limit')
    this.name = 'ExpansionLimit'
  }
}

function wanted(path: string): boolean {
  return OS_RELEASE.includes(path) || databaseHolding(path) !== undefined
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
