/**
 * SARIF 2.1.0 for GitHub code scanning: one rule per kind of finding, stable fingerprints.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import type { Log, ReportingDescriptor, Result } from 'sarif'
import { VERSION } from '../version.js'
import type { Annotation, AnnotationRule } from './annotations.js'

/** Where each rule is explained: its own README section. */
const README = 'https://github.com/base-image-drift/base-image-drift#'

/**
 * One rule per kind of finding, with what GitHub's code scanning shows for it: a short and a
 * full description, and the help (the README section of the same name says the same).
 */
export const RULES: Record<
  AnnotationRule,
  { name: string; text: string; help: string; level: Result.level }
> = {
  drifted: {
    name: 'BaseImageDrifted',
    text: 'A base image changed under its tag since the last successful build',
    help: 'The image this line names now has another digest than the one the last successful build used: upstream rebuilt the tag. Pin the known-good digest (the alert gives the line to paste) to build exactly what worked, or accept the new image by recording it as the baseline (the accept input, or check --accept --update).',
    level: 'error'
  },
  'removed-package': {
    name: 'RemovedPackageNeeded',
    text: 'A line needs a package the drifted base image no longer has',
    help: 'The base image this build starts from changed under its tag, and the package this line installs, copies or uses is not in the new image any more. Pin the known-good digest of the base image, or change the line for the new release (a renamed package, a newer library).',
    level: 'error'
  },
  'not-checked': {
    name: 'ImageNotChecked',
    text: 'An image reference could not be scanned or resolved, so drift could not be checked',
    help: 'The image on this line could not be determined from the file (a variable with no value, a template) or its registry did not answer with a digest (a typo in the name, a missing login, the registry down). The alert says which; until it is fixed, this image is not watched.',
    level: 'warning'
  },
  'stale-pin': {
    name: 'StalePin',
    text: 'An image is pinned to a digest its tag has moved on from',
    help: 'The line pins a digest, so builds are reproducible, but its tag now points elsewhere: the pin keeps the build on an image that no longer gets the updates the tag does. Bump the pin when the new image is checked.',
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
    fullDescription: { text: `${rule.text}.` },
    help: { text: rule.help, markdown: `**${rule.text}.** ${rule.help}` },
    defaultConfiguration: { level: rule.level },
    helpUri: `${README}${rule.name.toLowerCase()}`
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
            semanticVersion: VERSION,
            informationUri: 'https://github.com/base-image-drift/base-image-drift',
            rules
          }
        },
        results: annotations.map(a => ({
          ruleId: a.rule,
          ruleIndex: ids.indexOf(a.rule),
          level: LEVEL[a.level],
          message: { text: oneLine(a) },
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

/**
 * An alert's message on one line, as code scanning lists it: what happened, what changed, and
 * the line to paste where there is one; the rule's help says the rest.
 */
function oneLine(a: Annotation): string {
  const lines = a.message.split('\n').filter(Boolean)
  const pin = lines.find(line => line.startsWith('Keep the known-good image:'))
  const first = lines[0] && lines[0] !== pin && !lines[0].startsWith('Or ') ? `: ${lines[0]}` : ''
  return `${a.title}${first}${pin ? `. ${pin}` : ''}`
}
