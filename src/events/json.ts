/**
 * JSON text exactly as Kafka Connect's JsonConverter (Jackson) writes it, where that differs from
 * `JSON.stringify`: doubles in Java's `Double.toString` form (`1.0`, `1.0E10`), non-finite doubles as quoted
 * strings (Jackson's QUOTE_NON_NUMERIC_NUMBERS), control characters as upper-case `\u00XX`, and int64 values as
 * plain numbers without precision loss (bigint).
 */

/**
 * Characters JSON must escape. Without them the text is written as is — also what the slow path gives for a lone
 * surrogate, which JSON.stringify escapes but Jackson writes raw (see jacksonString).
 */
const NEEDS_ESCAPING = /["\\\u0000-\u001f]/

export function jsonString(value: string): string {
  // Most values (names, uuids, timestamps, base64) need no escaping at all: skip JSON.stringify and its \u scan.
  if (!NEEDS_ESCAPING.test(value)) return `"${value}"`
  const quoted = JSON.stringify(value)
  // JSON.stringify writes `\u00xx` in lower case where Jackson uses upper case; both use \b \t \n \f \r. A `\u`
  // in the output is rare (control characters, or a literal backslash before a `u`), so redo only those strings.
  return quoted.includes('\\u') ? jacksonString(value) : quoted
}

function jacksonString(value: string): string {
  let out = '"'
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20) {
      const short = SHORT_ESCAPES[code]
      out += short ?? `\\u00${code.toString(16).toUpperCase().padStart(2, '0')}`
    } else if (code === 0x22) {
      out += '\\"'
    } else if (code === 0x5c) {
      out += '\\\\'
    } else {
      out += value[i]
    }
  }
  return `${out}"`
}

const SHORT_ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' }

/** Java's `Double.toString` (JDK 19+, shortest round-trip digits), as Jackson writes a float64 or float32. */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return '"NaN"'
  if (value === Number.POSITIVE_INFINITY) return '"Infinity"'
  if (value === Number.NEGATIVE_INFINITY) return '"-Infinity"'
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  const abs = Math.abs(value)
  if (abs >= 1e-3 && abs < 1e7) return Number.isInteger(value) ? `${value}.0` : String(value)
  const [mantissa, exponent] = value.toExponential().split('e')
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent[0] === '+' ? exponent.slice(1) : exponent}`
}

/** An integer value (number or bigint) as a JSON number. */
export function jsonInteger(value: number | bigint): string {
  return typeof value === 'bigint' ? value.toString() : String(value)
}

/** Schemaless JSON for values whose shape no schema describes (defaults, fallbacks); bigint-safe. */
export function jsonAny(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  switch (typeof value) {
    case 'string':
      return jsonString(value)
    case 'number':
      return Number.isFinite(value) ? String(value) : javaDouble(value)
    case 'bigint':
      return value.toString()
    case 'boolean':
      return value ? 'true' : 'false'
    default:
      break
  }
  if (Array.isArray(value)) return `[${value.map(jsonAny).join(',')}]`
  const parts: string[] = []
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    parts.push(`${jsonString(key)}:${jsonAny(item)}`)
  }
  return `{${parts.join(',')}}`
}
