/**
 * Plain-text columns: each column as wide as its widest cell. In a terminal narrower than the
 * table (`width`, its columns), where lines would wrap and the columns be lost, rows are
 * written as records instead: the first and last cell on one line, the others under it, each
 * named by its header. A file or a pipe gets the columns whole.
 */
export function formatTable(header: string[], rows: string[][], width = Infinity): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  const lines = [line(header), ...rows.map(line)]
  if (lines.every(l => l.length <= width)) return lines.join('\n')
  const last = header.length - 1
  return rows
    .map(row =>
      [
        `${row[0]}  ${row[last] ?? ''}`.trimEnd(),
        ...header
          .slice(1, last)
          .flatMap((name, i) => (row[i + 1] ? [`    ${name.toLowerCase()}: ${row[i + 1]}`] : []))
      ].join('\n')
    )
    .join('\n')
}
