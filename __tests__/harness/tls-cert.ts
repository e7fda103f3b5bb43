import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * A self-signed certificate for a test server on loopback, made by openssl: its own CA, which
 * a client trusts through NODE_EXTRA_CA_CERTS=certPath. `names` are its subjectAltName entries.
 */
export function selfSignedCert(
  certPath: string,
  keyPath: string,
  names: string
): { key: Buffer; cert: Buffer } {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test']
      .concat(['-addext', `subjectAltName=${names}`])
      .concat(['-keyout', keyPath, '-out', certPath]),
    { stdio: 'ignore' }
  )
  return { key: readFileSync(keyPath), cert: readFileSync(certPath) }
}
