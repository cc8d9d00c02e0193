/**
 * Rows of decoded change events → `COPY … FROM STDIN` text, for the writer's bulk path (postgresql-writer.ts). The
 * text must give every column exactly what `jsonb_populate_recordset` gives it on the regular path, so the two paths
 * are interchangeable; a value where that cannot be promised makes the whole set ineligible (null), and the regular
 * statement applies it:
 * - a string is the text itself (into a json/jsonb column too: the regular path parses a string as JSON there);
 * - a number is its JavaScript text, which is what JSON.stringify sends on the regular path — except numbers JavaScript
 *   prints with an exponent, which jsonb would print in full into a text column: ineligible;
 * - a boolean is `true` / `false` (jsonb's text for it, which a text column would keep);
 * - an ExactInteger (an int64 beyond 2^53) is its digits;
 * - an object or array is its JSON in a json/jsonb column, and ineligible elsewhere (jsonb_populate_recordset turns
 *   arrays into PostgreSQL arrays and objects into composite values);
 * - null or a missing column is `\N`.
 * COPY text format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
import { type DestinationRecord, ExactInteger } from '../destination.js'
import { copyRoom, writeCopyValue } from '../flat-json.js'

/** Characters COPY's text format needs escaped in a value, and their escapes. */
const COPY_SPECIAL = /[\\\n\r\t]/
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function copyEscape(text: string): string {
  return COPY_SPECIAL.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]) : text
}

/** One value as COPY text, or null when the bulk path cannot promise the regular path's result. */
function copyValue(value: unknown, json: boolean): string | null {
  if (value === null || value === undefined) return '\\N'
  switch (typeof value) {
    case 'string':
      return copyEscape(value)
    case 'number': {
      const text = String(value)
      return text.includes('e') ? null : text
    }
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value instanceof ExactInteger) return value.text
      return json ? copyEscape(JSON.stringify(value)) : null
    default:
      return null
  }
}

/**
 * The COPY text of `rows` for `columns` (a line per row, tab-separated, in that order); `json` holds the columns of
 * type json or jsonb. Null when some value is ineligible (see above).
 */
export function copyRows(columns: readonly string[], json: { has(column: string): boolean }, rows: ReadonlyArray<Record<string, unknown>>): string | null {
  const isJson = columns.map((c) => json.has(c))
  const lines: string[] = new Array(rows.length)
  const fields: string[] = new Array(columns.length)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    for (let c = 0; c < columns.length; c++) {
      const text = copyValue(row[columns[c]], isJson[c])
      if (text === null) return null
      fields[c] = text
    }
    lines[r] = fields.join('\t')
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

/**
 * The COPY text of flat snapshot reads (`record.flat`, all of one layout): each after image's values in its layout's
 * order, then `suffix` (a fixed tail, such as a soft-delete flag's `\tfalse`). The bytes are what `copyRows` writes
 * for the same rows parsed (flat-json.ts says why), so the bulk path's result does not depend on which ran.
 */
export function flatCopyRows(records: readonly DestinationRecord[], suffix: string): Buffer {
  const tail = Buffer.from(`${suffix}\n`)
  let room = 0
  for (const record of records) {
    const after = record.flat!.after
    room += copyRoom(after.end - after.start) + after.layout.names.length * 3 + tail.length
  }
  const out = Buffer.allocUnsafe(room)
  let at = 0
  for (const record of records) {
    const after = record.flat!.after
    const fields = after.layout.names.length
    for (let f = 0; f < fields; f++) {
      if (f > 0) out[at++] = 0x09
      at = writeCopyValue(after, f, out, at)
    }
    at += tail.copy(out, at)
  }
  return out.subarray(0, at)
}

/**
 * `flatCopyRows` a slice of `records` at a time: COPY then streams the first rows to PostgreSQL while the next are
 * written, instead of PostgreSQL waiting for a whole batch's text (the two overlap on different cores).
 */
export function* flatCopyChunks(records: readonly DestinationRecord[], suffix: string, chunkRecords = 1000): Generator<Buffer> {
  for (let i = 0; i < records.length; i += chunkRecords) yield flatCopyRows(records.slice(i, i + chunkRecords), suffix)
}
