/**
 * Writers of a value's event JSON straight from its text as bytes (COPY's), for the types whose conversion is
 * otherwise the larger part of a snapshot row's cost. Each handles the common form of its type's text and returns
 * false, having written nothing, for anything else: the snapshot encoder then converts the text as a string, so
 * the two paths must agree (tested side by side with the converters).
 */
import type { ByteWriter } from '../../../util/byte-writer.js'
import { smallTwosComplement } from './numeric.js'

/** Writes `text[start, end)`'s JSON into `out`, or returns false. */
export type ByteJsonWriter = (text: Uint8Array, start: number, end: number, out: ByteWriter) => boolean

const QUOTE = 0x22
const DOT = 0x2e
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39

const isDigit = (b: number) => b >= ZERO && b <= NINE

/**
 * timestamptz as Debezium's ZonedTimestamp (see formatTimestamptz), for text already in UTC with a four-digit
 * year — `2026-11-30 07:46:24.123456+00`, what a session in UTC sends: the ISO form is a re-spelling of the bytes.
 */
export function timestamptzJson(precision: number): ByteJsonWriter {
  return (text, start, end, out) => {
    const length = end - start
    // `YYYY-MM-DD HH:MM:SS` (19), an optional `.` and 1–6 digits, then `+00`.
    if (length < 22 || length > 29 || length === 23) return false
    if (text[end - 3] !== 0x2b || text[end - 2] !== ZERO || text[end - 1] !== ZERO) return false
    // Checked as it is copied: bytes written past `out.length` count for nothing if the text is declined.
    const bytes = out.ensure(30)
    let o = out.length
    bytes[o++] = QUOTE
    for (let i = 0; i < 19; i++) {
      const b = text[start + i]
      const separator = TIMESTAMP_SEPARATORS[i]
      if (separator === 0 ? b - ZERO >>> 0 > 9 : b !== separator) return false
      bytes[o + i] = b
    }
    bytes[o + 10] = 0x54 // T
    o += 19
    const fractionStart = start + 20
    const fractionEnd = end - 3
    if (length > 22) {
      if (text[start + 19] !== DOT) return false
      for (let i = fractionStart; i < fractionEnd; i++) if (!isDigit(text[i])) return false
    }
    const fractionLength = length > 22 ? fractionEnd - fractionStart : 0
    if (precision >= 1 && precision <= 6) {
      bytes[o++] = DOT
      for (let i = 0; i < precision; i++) bytes[o++] = i < fractionLength ? text[fractionStart + i] : ZERO
    } else {
      let significant = fractionLength
      while (significant > 0 && text[fractionStart + significant - 1] === ZERO) significant--
      if (significant > 0) {
        bytes[o++] = DOT
        for (let i = 0; i < significant; i++) bytes[o++] = text[fractionStart + i]
      }
    }
    bytes[o++] = 0x5a // Z
    bytes[o++] = QUOTE
    out.length = o
    return true
  }
}

/** Per position of `YYYY-MM-DD HH:MM:SS`: the separator byte there, or 0 for a digit. */
const TIMESTAMP_SEPARATORS = Uint8Array.from('0000-00-00 00:00:00', (c) => (c === '0' ? 0 : c.charCodeAt(0)))

/**
 * numeric(p, s) as Kafka Connect's Decimal (the unscaled value's two's-complement bytes in base64), for text with at
 * most `scale` fraction digits and at most 14 digits in all, so the unscaled value is an exact number.
 */
export function decimalJson(scale: number): ByteJsonWriter {
  return (text, start, end, out) => {
    let i = start
    const negative = text[i] === MINUS
    if (negative) i++
    let unscaled = 0
    let digits = 0
    let fraction = -1
    for (; i < end; i++) {
      const b = text[i]
      if (isDigit(b)) {
        unscaled = unscaled * 10 + (b - ZERO)
        digits++
        if (fraction >= 0) fraction++
      } else if (b === DOT && fraction < 0) {
        fraction = 0
      } else {
        return false
      }
    }
    if (fraction < 0) fraction = 0
    if (digits === 0 || fraction > scale || digits + (scale - fraction) > 14) return false
    for (let pad = fraction; pad < scale; pad++) unscaled *= 10
    writeSmallBase64(negative ? -unscaled : unscaled, out)
    return true
  }
}

/**
 * A float as Java's `Double.toString` writes it (see javaDouble), for text in plain notation between 1e-3 and 1e7
 * with at most `maxDigits` significant digits, when that text is already the shortest one that reads back as the
 * same double: then it is what both JavaScript and Java print, so the bytes are the JSON as they are (an integer
 * only gains `.0`). Any other text is converted.
 */
function floatJsonUpTo(maxDigits: number): ByteJsonWriter {
  return (text, start, end, out) => {
    let i = start
    if (text[i] === MINUS) i++
    const intStart = i
    while (i < end && isDigit(text[i])) i++
    const intDigits = i - intStart
    if (intDigits === 0 || intDigits > 7) return false
    const zeroInt = intDigits === 1 && text[intStart] === ZERO
    if (!zeroInt && text[intStart] === ZERO) return false
    if (i === end) {
      if (zeroInt) return false // 0 and -0 have forms of their own
      out.range(text, start, end)
      out.range(POINT_ZERO)
      return true
    }
    if (text[i] !== DOT) return false
    i++
    const fractionStart = i
    while (i < end && isDigit(text[i])) i++
    if (i !== end || i === fractionStart || text[end - 1] === ZERO) return false
    let significant = zeroInt ? 0 : intDigits
    if (zeroInt) {
      let leadingZeros = 0
      while (text[fractionStart + leadingZeros] === ZERO) leadingZeros++
      // Below 1e-3 Java switches to scientific notation.
      if (leadingZeros > 2) return false
      significant += end - fractionStart - leadingZeros
    } else {
      significant += end - fractionStart
    }
    if (significant > maxDigits) return false
    out.range(text, start, end)
    return true
  }
}

/**
 * Any server's float text: 15 significant digits always survive a round trip through a double, so such a decimal is
 * the shortest text of the double nearest to it. Longer texts may not be shortest (PostgreSQL before 12, or with
 * `extra_float_digits` set to 2 or 3, prints 17 digits).
 */
export const floatJson: ByteJsonWriter = floatJsonUpTo(15)

/**
 * float8 text from PostgreSQL 12+ with `extra_float_digits` > 0, which prints the shortest digits that read back as
 * the same double, choosing as JavaScript and Java do (the closest of them, ties to even): texts of up to 17 digits
 * are already the JSON. Only for a session known to print that way (a snapshot sets it; see table-snapshot-reader).
 */
export const shortestFloatJson: ByteJsonWriter = floatJsonUpTo(17)

const POINT_ZERO = Buffer.from('.0')
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
const scratch = new Uint8Array(6)

/**
 * `"` + numeric.ts smallToBase64(value) + `"` (|value| < 2^47: Java's `BigInteger.toByteArray()` of it, in base64)
 * written as bytes, without the string and Buffer a base64 encoding makes.
 */
function writeSmallBase64(value: number, out: ByteWriter): void {
  const length = smallTwosComplement(value, scratch)
  const bytes = out.ensure(12)
  let o = out.length
  bytes[o++] = QUOTE
  for (let i = 0; i < length; i += 3) {
    const b0 = scratch[i]
    const b1 = i + 1 < length ? scratch[i + 1] : 0
    const b2 = i + 2 < length ? scratch[i + 2] : 0
    bytes[o++] = BASE64[b0 >> 2]
    bytes[o++] = BASE64[((b0 & 3) << 4) | (b1 >> 4)]
    bytes[o++] = i + 1 < length ? BASE64[((b1 & 15) << 2) | (b2 >> 6)] : 0x3d
    bytes[o++] = i + 2 < length ? BASE64[b2 & 63] : 0x3d
  }
  bytes[o++] = QUOTE
  out.length = o
}
