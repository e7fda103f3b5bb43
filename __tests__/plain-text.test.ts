import { logLine, terminalText } from '../src/plain-text.js'

describe('text for terminals and the log', () => {
  it('shows ESC, BEL, CR and C1 controls instead of sending them, and keeps newlines and tabs', () => {
    expect(terminalText('a\u001b]52;c;ZXZpbA==\u0007b\tc\nd\u009be\u007f\r')).toBe(
      'a\\u001b]52;c;ZXZpbA==\\u0007b\tc\nd\\u009be\\u007f\\u000d'
    )
  })
  it('folds a log line and breaks every ::, so no outside text becomes a workflow command', () => {
    const line = logLine('Dockerfile:1: x\n::warning file=a::forged\r\n::add-mask::y')
    expect(line).not.toMatch(/[\r\n]/)
    expect(line).not.toContain('::')
    expect(line).toBe(
      'Dockerfile:1: x :\u200b:warning file=a:\u200b:forged :\u200b:add-mask:\u200b:y'
    )
  })
})
