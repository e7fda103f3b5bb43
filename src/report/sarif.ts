/**
 * SARIF 2.1.0 for GitHub code scanning: one rule per kind of finding, stable fingerprints.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import type { Log, ReportingDescriptor, Result } from 'sarif'
import { VERSION } from '../version.js'
import type { Annotation, AnnotationRule } from './annotations.js'

const RULES: Record<AnnotationRule, { name: string; text: string; level: Result.level }> = {
  drifted: {
    name: 'BaseImageDrifted',
    text: 'A base image changed under its tag since the last successful build',
    level: 'error'
  },
  'removed-package': {
    name: 'RemovedPackageNeeded',
    text: 'A line needs a package the drifted base image no longer has',
    level: 'error'
  },
  'not-checked': {
    name: 'ImageNotChecked',
    text: 'An image reference could not be scanned or resolved, so drift could not be checked',
    level: 'warning'
  },
  'stale-pin': {
    name: 'StalePin',
    text: 'An image is pinned to a digest its tag has moved on from',
    level: 'note'
  }
}

const LEVEL: Record<Annotation['level'], Result.level> = {
  error: 'error',
  warning: 'warning',
  notice: 'note'
}

/** Writes the SARIF log of these annotations to `path`. */
export function writeSarif(path: string, annotations: Annotation[]): void {
  writeFileSync(path, JSON.stringify(renderSarif(annotations), null, 2) + '\n')
}

/**
 * A SARIF 2.1.0 log for GitHub code scanning: one rule per kind of finding, one result per
 * annotation (every one, not GitHub's 10), with the same words, and a fingerprint that stays
 * the same for the same problem from run to run.
 */
export function renderSarif(annotations: Annotation[]): Log {
  const ids: string[] = Object.keys(RULES)
  const rules: ReportingDescriptor[] = Object.entries(RULES).map(([id, rule]) => ({
    id,
    name: rule.name,
    shortDescription: { text: rule.text },
    defaultConfiguration: { level: rule.level },
    helpUri: 'https://github.com/base-image-drift/base-image-drift#how-drift-is-decided'
  }))
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'base-image-drift',
            version: VERSION,
            informationUri: 'https://github.com/base-image-drift/base-image-drift',
            rules
          }
        },
        results: annotations.map(a => ({
          ruleId: a.rule,
          ruleIndex: ids.indexOf(a.rule),
          level: LEVEL[a.level],
          message: { text: `${a.title}\n${a.message}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: uriOf(a.file), uriBaseId: '%SRCROOT%' },
                region: { startLine: a.line, startColumn: a.column }
              }
            }
          ],
          partialFingerprints: {
            'baseImageDrift/v1': createHash('sha256')
              .update(`${a.rule}\0${a.identity}`)
              .digest('hex')
          }
        }))
      }
    ]
  }
}

/**
 * A repository path as an RFC 3986 relative reference: each segment percent-encoded, so
 * `my app/`, `50%off/` and `a#b/Dockerfile` name those files, not a fragment or a bad escape.
 */
export function uriOf(path: string): string {
  return path
    .split('/')
    .map(segment =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`
      )
    )
    .join('/')
}
