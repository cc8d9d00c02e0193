/**
 * Rows of `COPY … TO STDOUT` in text format → field texts. After unescaping, a field is exactly the type's text
 * output, the same text pgoutput sends, so the snapshot path feeds it to the same `TypeRegistry.converterFor`.
 * Format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }

/** One line (without its trailing newline) → fields; `\N` is SQL NULL. */
export function parseCopyTextRow(line: string): Array<string | null> {
  const fields = line.split('\t')
  const out: Array<string | null> = new Array(fields.length)
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]
    out[i] = field === '\\N' ? null : field.includes('\\') ? unescapeField(field) : field
  }
  return out
}

/** A field's text with COPY's backslash escapes undone. */
export function unescapeField(field: string): string {
  let out = ''
  for (let i = 0; i < field.length; i++) {
    const ch = field[i]
    if (ch !== '\\') {
      out += ch
      continue
    }
    const next = field[i + 1]
    if (next === undefined) throw new Error(`COPY text field ends with a backslash: ${JSON.stringify(field)}`)
    if (next >= '0' && next <= '7') {
      const octal = /^[0-7]{1,3}/.exec(field.slice(i + 1))![0]
      out += String.fromCharCode(Number.parseInt(octal, 8))
      i += octal.length
    } else if (next === 'x' && /^[0-9a-fA-F]/.test(field[i + 2] ?? '')) {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 2))![0]
      out += String.fromCharCode(Number.parseInt(hex, 16))
      i += 1 + hex.length
    } else {
      // Any other escaped character stands for itself.
      out += ESCAPES[next] ?? next
      i++
    }
  }
  return out
}
