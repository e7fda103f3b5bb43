import type { ImageReference } from '../reference/reference.js'

export type ReferenceKind = 'from' | 'copy-from' | 'mount-from' | 'syntax' | 'compose'

/** One image a build pulls, where it is named, and what it normalizes to. */
export interface FoundReference {
  /** Path relative to the scan's root, with `/` separators. */
  file: string
  line: number
  column: number
  kind: ReferenceKind
  /** The instruction (or Compose `image:` value) as written. */
  source: string
  /** Normalized reference; absent when `error` is set. */
  image?: ImageReference
  stage: string | null
  platform: string | null
  error: string | null
}

/** A file, or a part of one, that could not be read; never silently dropped. */
export interface ScanWarning {
  file: string
  line?: number
  message: string
}

export interface ScanResult {
  references: FoundReference[]
  warnings: ScanWarning[]
}

export interface ScanOptions {
  /** Build args (`NAME=VALUE`); they override only globally declared ARGs. */
  buildArgs?: Record<string, string>
  /** Platform the automatic TARGET* ARGs describe; default `linux/amd64`. */
  targetPlatform?: string
}
