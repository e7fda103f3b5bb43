/** What the readers say of a repository file, and how they quote it. */

/** Something said of a file or a line of it: an error, a warning or a notice. */
export interface ScanProblem {
  file: string
  line?: number
  message: string
}

/** A piece of a repository file as messages quote it: enough to find it, never a whole hostile line. */
export function excerpt(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}
