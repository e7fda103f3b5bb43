/**
 * Text from files and registries made inert for a terminal and for the job's log, as
 * markdown-escape.ts does for Markdown: no control character reaches a terminal (ESC starts
 * sequences that erase lines or write the clipboard), and no line of the log can be read as a
 * workflow command (`::warning::`, `::add-mask::`, `::stop-commands::`).
 */

/** C0 and C1 control characters and DEL, except newline and tab: what a terminal acts on. */
function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x0a && code !== 0x09) || (code >= 0x7f && code <= 0x9f)
}

/** Terminal text: every control character but newline and tab shown as `\u001b`, never sent. */
export function terminalText(text: string): string {
  let out = ''
  let from = 0
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if (!isControl(code)) continue
    out += `${text.slice(from, at)}\\u${code.toString(16).padStart(4, '0')}`
    from = at + 1
  }
  return from === 0 ? text : out + text.slice(from)
}

/**
 * Text for a terminal that may be a job's log (the CLI runs in Actions too): controls shown,
 * and no line read as a workflow command (the runner reads one where a line starts with `::`
 * after its leading white space).
 */
export function inertText(text: string): string {
  return terminalText(text).replace(/^([ \t]*)::/gm, '$1:\u200b:')
}

/** One line of the job's log: line breaks folded, controls shown, and `::` never a command. */
export function logLine(text: string): string {
  return terminalText(text.replace(/[\r\n]+/g, ' ')).replace(/::/g, ':\u200b:')
}
