/**
 * The package databases read out of an image's layers, each one module's worth of facts:
 * which files are its, which of them settle it (so the layers below need not be read), and
 * how its packages are read. The layer walk, the explanation and the report use this list;
 * a new database is one entry here.
 */
import { parseApkInstalled, parseDpkgStatus, type Package } from './packages.js'

/** An image's packages, and where they were read. */
export interface PackageList {
  /** The image's SBOM, or the name of the package database read. */
  from: 'sbom' | PackageDatabase['name']
  packages: Package[]
}

export interface PackageDatabase {
  name: 'dpkg' | 'apk'
  /** What the report calls it: `the dpkg database`. */
  description: string
  /** Whether a file of a layer (a path without a leading `/`) is part of it. */
  holds(path: string): boolean
  /**
   * Whether that file settles it: a single database file does; one of a directory of them
   * (distroless images' `status.d/`) never does, as lower layers may hold more.
   */
  settles(path: string): boolean
  /** Its packages, from the files the image holds; null when it has none of them. */
  read(files: ReadonlyMap<string, string>): Package[] | null
}

const DPKG_STATUS = 'var/lib/dpkg/status'
const DPKG_STATUS_D = 'var/lib/dpkg/status.d/'
const APK_INSTALLED = 'lib/apk/db/installed'

/** In the order they are read: an image with both is read as dpkg's. */
export const DATABASES: readonly PackageDatabase[] = [
  {
    name: 'dpkg',
    description: 'the dpkg database',
    holds: path =>
      path === DPKG_STATUS || (path.startsWith(DPKG_STATUS_D) && !path.endsWith('.md5sums')),
    settles: path => path === DPKG_STATUS,
    read: files => {
      const texts = [...files].filter(([path]) => DATABASES[0].holds(path))
      return texts.length > 0 ? texts.flatMap(([, text]) => parseDpkgStatus(text)) : null
    }
  },
  {
    name: 'apk',
    description: 'the apk database',
    holds: path => path === APK_INSTALLED,
    settles: path => path === APK_INSTALLED,
    read: files => {
      const text = files.get(APK_INSTALLED)
      return text === undefined ? null : parseApkInstalled(text)
    }
  }
]

/** The database whose files a path is, if any. */
export function databaseHolding(path: string): PackageDatabase | undefined {
  return DATABASES.find(database => database.holds(path))
}
