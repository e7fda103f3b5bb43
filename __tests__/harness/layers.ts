import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'

/**
 * A real gzip tar layer. `files` maps paths to contents; a `null` content is a whiteout
 * (`.wh.NAME`) deleting what lower layers hold there, and a path ending in `/` with `null`
 * is an opaque directory (`.wh..wh..opq`).
 */
export async function tarLayer(files: Record<string, string | Buffer | null>): Promise<Buffer> {
  return gzipSync(await tarArchive(files))
}

/** The same, as a plain (uncompressed) tar. */
export async function tarArchive(files: Record<string, string | Buffer | null>): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
  const ended = new Promise<void>(resolve => pack.on('end', () => resolve()))
  for (const [path, content] of Object.entries(files)) {
    if (content === null) {
      const slash = path.endsWith('/') ? path.length - 1 : path.lastIndexOf('/')
      const dir = path.slice(0, Math.max(0, slash))
      const name = path.endsWith('/') ? '.wh..wh..opq' : `.wh.${path.slice(slash + 1)}`
      pack.entry({ name: dir ? `${dir}/${name}` : name, size: 0 }, '')
    } else {
      pack.entry({ name: path }, content)
    }
  }
  pack.finalize()
  await ended
  return Buffer.concat(chunks)
}

/** A `var/lib/dpkg/status` with these packages installed. */
export function dpkgStatus(packages: Record<string, string>): string {
  return Object.entries(packages)
    .map(
      ([name, version]) =>
        `Package: ${name}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: ${version}\nDescription: ${name}\n`
    )
    .join('\n')
}

/** A `lib/apk/db/installed` with these packages. */
export function apkInstalled(packages: Record<string, string>): string {
  return Object.entries(packages)
    .map(([name, version]) => `C:Q1abc=\nP:${name}\nV:${version}\nA:x86_64\n`)
    .join('\n')
}

export const debianRelease = (version: string, codename: string) =>
  `PRETTY_NAME="Debian GNU/Linux ${version} (${codename})"\nNAME="Debian GNU/Linux"\nVERSION_ID="${version}"\nVERSION="${version} (${codename})"\nVERSION_CODENAME=${codename}\nID=debian\n`
