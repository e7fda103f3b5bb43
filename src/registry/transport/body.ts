/**
 * Reading a response body within a size limit: a declared length over it is refused before a
 * byte is read, and a body that grows past it is cut off where it crosses it.
 */
import type { Readable } from 'node:stream'
import { RegistryError } from './errors.js'

/** The body, or a `too-large` error; `failed` turns a stream error into the transport's own. */
export async function readCapped(
  body: Readable,
  declaredLength: number,
  limit: number,
  where: { host: string; url: string },
  failed: (error: unknown) => Error
): Promise<Buffer> {
  if (declaredLength > limit) {
    body.destroy()
    throw tooLarge(where, limit)
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) {
        body.destroy()
        throw tooLarge(where, limit)
      }
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error
    throw failed(error)
  }
  return Buffer.concat(chunks)
}

function tooLarge({ host, url }: { host: string; url: string }, limit: number): RegistryError {
  const mib = limit / 1024 / 1024
  return new RegistryError(
    'too-large',
    `${host}: ${new URL(url).pathname} is larger than the ${mib} MiB limit; refused`
  )
}
