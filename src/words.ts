/** "1 image", "2 images": a count and its noun, for every message that counts. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`
}
