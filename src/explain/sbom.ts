/**
 * Reads the SBOM an image's index carries (BuildKit attestations), bounded in size.
 */
import type { ImageReference } from '../reference/reference.js'
import { isAttestation, parseRegistryJson } from '../registry/manifest.js'
import { isRecord } from '../json.js'
import type { PlatformImage, RegistryClient } from '../registry/remote.js'
import { parseSbom, type Package } from './packages.js'

const PREDICATE_TYPE = 'in-toto.io/predicate-type'
const SBOM_PREDICATES = [/^https:\/\/spdx\.dev\/Document/, /^https:\/\/cyclonedx\.org\/bom/]
/** An SBOM is parsed whole: bounded so one image's costs stay within a few hundred MiB. */
const MAX_SBOM_BYTES = 16 * 1024 * 1024

/**
 * The packages of one platform's image from the SBOM BuildKit attached to its index (an
 * attestation manifest whose `vnd.docker.reference.digest` is the image; in-toto layers with
 * an SPDX or CycloneDX predicate); null when there is none.
 */
export async function readSbom(
  client: RegistryClient,
  reference: ImageReference,
  image: PlatformImage
): Promise<Package[] | null> {
  const attestation = image.index?.manifests.find(
    d => isAttestation(d) && d.annotations['vnd.docker.reference.digest'] === image.digest
  )
  if (!attestation) return null
  const manifest = await client.manifest({ ...reference, digest: attestation.digest })
  if (manifest.value.kind !== 'image') return null
  for (const layer of manifest.value.layers) {
    const predicate = layer.annotations[PREDICATE_TYPE] ?? ''
    if (!SBOM_PREDICATES.some(p => p.test(predicate))) continue
    const statement = parseRegistryJson(
      await client.blob(reference, layer.digest, MAX_SBOM_BYTES),
      `the SBOM ${layer.digest}`
    )
    const packages = isRecord(statement) ? parseSbom(statement.predicate) : null
    if (packages) return packages
  }
  return null
}
