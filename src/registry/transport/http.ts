/**
 * What every layer of the registry transport passes on: a request, its response, and the
 * round tripper each layer is (go-containerregistry's `http.RoundTripper` chain): a layer
 * does its one job and hands the request to the next.
 */
import type { Readable } from 'node:stream'

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST'
  url: string
  headers?: Record<string, string>
  body?: string
  /** Header value sent only to the origin of `url`, never after a redirect elsewhere. */
  authorization?: string
  /** Body larger than this is refused. */
  maxBodyBytes?: number
  /** Hand a 200's body over as a stream instead of reading it (layers). */
  stream?: boolean
}

export interface HttpResponse {
  status: number
  url: string
  headers: Record<string, string>
  body: Buffer
  /** A 200's body, unread, when the request asked for a stream. */
  stream?: Readable
}

/** One layer of the transport, or the whole of it. */
export type RoundTripper = (request: HttpRequest) => Promise<HttpResponse>

/** What the layers count, for the run's statistics. */
export interface TransportStats {
  /** Requests sent to a registry: every attempt and every redirect hop. */
  requests: number
  retries: number
  /** Each registry's concurrency limit as it stands now. */
  limitedTo: Record<string, number>
}

/** The whole run's deadline: after it no request starts, none is retried, no stream goes on. */
export interface RunDeadline {
  /** `Date.now()` at which it passes. */
  at: number
  /** How it was set, for messages: `60 s (10 × timeout)`. */
  described: string
}
