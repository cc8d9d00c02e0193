/**
 * A strict scanner for the JSON objects change events carry as row images when every value is a scalar
 * (`{"id":1,"name":"a\"b","score":1.5,"flag":true,"note":null}`). It notes where each value's bytes are instead of
 * building strings and objects, so a writer can copy them straight into its own format (the PostgreSQL writer's COPY
 * text) and rows that only pass through never pay for JSON.parse and the garbage it leaves: on a snapshot delivered
 * into PostgreSQL, parsing the after images and collecting what they left was the largest cost of the whole pipeline.
 *
 * Hand-written: JSON libraries build values; none reports byte ranges without building them.
 *
 * `scan` returns null for anything it does not take, valid or not: nested objects or arrays, a repeated name, a
 * `\u0000` or surrogate escape, a number whose JavaScript text its bytes do not give (numberEnd). Callers
 * then decode the usual way, which also reports invalid JSON, so null never needs to say why. What it accepts is valid
 * JSON, and each value's bytes give, through `writeCopyValue`, exactly the text the regular path writes for what
 * JSON.parse makes of it (copy-rows.ts).
 */
import { copyBytes, utf8Text } from '../../util/byte-writer.js'

export const enum ValueKind {
  Null = 0,
  True = 1,
  False = 2,
  Number = 3,
  /** A string with no escapes: its bytes are its UTF-8 text. */
  Plain = 4,
  /** A string with escapes. */
  Escaped = 5,
}

/** The names of an object's fields, in order; shared by every object scanned with the same names. */
export interface FlatLayout {
  readonly names: readonly string[]
  /** Each name's bytes as written (escapes kept), to recognise the layout without decoding names. */
  readonly raw: readonly Buffer[]
}

/** A scanned object: where it is, its layout and, per field in layout order, the start, end and kind of its value. */
export interface FlatObject {
  readonly layout: FlatLayout
  readonly bytes: Buffer
  readonly start: number
  readonly end: number
  /**
   * From `spansAt` on, three numbers per field; a string's range excludes its quotes. The array is shared by many
   * objects (see SPAN_CHUNK): an array per row was most of what a delivered batch kept alive for the collector.
   */
  readonly spans: Int32Array
  readonly spansAt: number
  /** Some value is an integer of 16 digits or more: JSON.parse may round it (the decoder then parses exactly). */
  readonly longIntegers: boolean
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const MINUS = 0x2d
const DOT = 0x2e
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const LETTER_E = 0x65
const LETTER_UPPER_E = 0x45
const LETTER_U = 0x75
const TRUE = Buffer.from('true')
const FALSE = Buffer.from('false')
const NULL = Buffer.from('null')
/** The escape letters JSON allows besides `u`. */
const SIMPLE_ESCAPE = new Uint8Array(128)
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1
const HEX = new Int8Array(256).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i
}

const isDigit = (b: number) => b >= DIGIT_0 && b <= DIGIT_9
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d

/** Layouts remembered per scanner: a pipeline's tables take turns, each with its own. */
const MAX_LAYOUTS = 16

/** A FlatObject a scanner fills again on each `scanTransient`. */
interface ReusedObject {
  layout: FlatLayout
  bytes: Buffer
  start: number
  end: number
  spans: Int32Array
  spansAt: number
  longIntegers: boolean
}

/** Numbers per shared span array: 256 KiB, the spans of a few thousand rows. */
const SPAN_CHUNK = 64 * 1024

export class FlatObjectScanner {
  private readonly layouts: FlatLayout[] = []
  /** Per field while scanning: its name's start and end. */
  private names = new Int32Array(2 * 64)
  /** Per field while scanning: its value's start, end and kind. */
  private values = new Int32Array(3 * 64)
  private longIntegers = false
  /** The shared span array scanned objects take their spans from, and how much of it is taken. */
  private chunk = new Int32Array(SPAN_CHUNK)
  private chunkUsed = 0
  private readonly reused: ReusedObject = { layout: { names: [], raw: [] }, bytes: Buffer.alloc(0), start: 0, end: 0, spans: this.values, spansAt: 0, longIntegers: false }

  /** The object in `bytes[start, end)`, or null (see the file comment). */
  scan(bytes: Buffer, start: number, end: number): FlatObject | null {
    const object = this.scanReused(bytes, start, end)
    return object === null ? null : { ...object }
  }

  /**
   * `scan`, into one object the scanner reuses: valid until its next scan, but its spans are kept for good, so a
   * caller may copy its fields into an object of its own (the decoder's records do: one object per row fewer for the
   * collector to move).
   */
  scanReused(bytes: Buffer, start: number, end: number): FlatObject | null {
    const layout = this.scanValues(bytes, start, end)
    if (layout === null) return null
    const length = layout.names.length * 3
    if (this.chunkUsed + length > this.chunk.length) {
      this.chunk = new Int32Array(Math.max(SPAN_CHUNK, length))
      this.chunkUsed = 0
    }
    const spansAt = this.chunkUsed
    // A loop rather than `set(values.subarray(…))`: a row's spans are a few dozen numbers, and the view `subarray`
    // makes per row was garbage.
    const chunk = this.chunk
    const values = this.values
    for (let k = 0; k < length; k++) chunk[spansAt + k] = values[k]
    this.chunkUsed += length
    return this.reuse(layout, bytes, start, end, this.chunk, spansAt)
  }

  /** `scanReused` whose spans are not kept either (to check an object, not to keep it). */
  scanTransient(bytes: Buffer, start: number, end: number): FlatObject | null {
    const layout = this.scanValues(bytes, start, end)
    return layout === null ? null : this.reuse(layout, bytes, start, end, this.values, 0)
  }

  private reuse(layout: FlatLayout, bytes: Buffer, start: number, end: number, spans: Int32Array, spansAt: number): FlatObject {
    const reused = this.reused
    reused.layout = layout
    reused.bytes = bytes
    reused.start = start
    reused.end = end
    reused.spans = spans
    reused.spansAt = spansAt
    reused.longIntegers = this.longIntegers
    return reused
  }

  /** Scans the object into `names` and `values`; its layout, or null. */
  private scanValues(bytes: Buffer, start: number, end: number): FlatLayout | null {
    let i = skipSpace(bytes, start, end)
    if (bytes[i] !== OPEN_BRACE) return null
    i = skipSpace(bytes, i + 1, end)
    let count = 0
    let longIntegers = false
    if (bytes[i] === CLOSE_BRACE) {
      i++
    } else {
      for (;;) {
        if (bytes[i] !== QUOTE) return null
        const nameStart = i + 1
        const nameEnd = stringEnd(bytes, nameStart, end)
        if (nameEnd < 0) return null
        i = skipSpace(bytes, nameEnd + 1, end)
        if (bytes[i] !== COLON) return null
        i = skipSpace(bytes, i + 1, end)
        let valueStart = i
        let valueEnd: number
        let kind: ValueKind
        const b = bytes[i]
        if (b === QUOTE) {
          valueStart = i + 1
          valueEnd = stringEnd(bytes, valueStart, end)
          if (valueEnd < 0) return null
          kind = escapedString ? ValueKind.Escaped : ValueKind.Plain
          i = valueEnd + 1
        } else if (b === MINUS || isDigit(b)) {
          i = numberEnd(bytes, i, end)
          if (i < 0) return null
          if (integerNumber && i - valueStart >= 16) longIntegers = true
          valueStart = numberTextStart
          valueEnd = numberTextEnd
          kind = ValueKind.Number
        } else if (b === 0x74 && matches(bytes, i, end, TRUE)) {
          kind = ValueKind.True
          i = valueEnd = i + 4
        } else if (b === 0x66 && matches(bytes, i, end, FALSE)) {
          kind = ValueKind.False
          i = valueEnd = i + 5
        } else if (b === 0x6e && matches(bytes, i, end, NULL)) {
          kind = ValueKind.Null
          i = valueEnd = i + 4
        } else {
          return null // an object, an array, or not JSON
        }
        if ((count + 1) * 3 > this.values.length) {
          const names = new Int32Array(this.names.length * 2)
          names.set(this.names)
          this.names = names
          const values = new Int32Array(this.values.length * 2)
          values.set(this.values)
          this.values = values
        }
        this.names[count * 2] = nameStart
        this.names[count * 2 + 1] = nameEnd
        this.values[count * 3] = valueStart
        this.values[count * 3 + 1] = valueEnd
        this.values[count * 3 + 2] = kind
        count++
        i = skipSpace(bytes, i, end)
        if (bytes[i] === COMMA) {
          i = skipSpace(bytes, i + 1, end)
          continue
        }
        if (bytes[i] !== CLOSE_BRACE) return null
        i++
        break
      }
    }
    if (skipSpace(bytes, i, end) !== end) return null
    this.longIntegers = longIntegers
    return this.layoutOf(bytes, count)
  }

  /** The remembered layout with the scanned names, or a new one; null when a name repeats. */
  private layoutOf(bytes: Buffer, count: number): FlatLayout | null {
    const scratch = this.names
    for (let l = 0; l < this.layouts.length; l++) {
      const layout = this.layouts[l]
      if (layout.raw.length !== count) continue
      let same = true
      for (let f = 0; f < count && same; f++) {
        const raw = layout.raw[f]
        const from = scratch[f * 2]
        if (scratch[f * 2 + 1] - from !== raw.length) same = false
        else for (let k = 0; k < raw.length; k++) if (bytes[from + k] !== raw[k]) { same = false; break }
      }
      if (same) {
        if (l > 0) {
          this.layouts.splice(l, 1)
          this.layouts.unshift(layout)
        }
        return layout
      }
    }
    const raw: Buffer[] = []
    const names: string[] = []
    for (let f = 0; f < count; f++) {
      const from = scratch[f * 2]
      const to = scratch[f * 2 + 1]
      raw.push(Buffer.from(bytes.subarray(from, to)))
      names.push(JSON.parse(`"${utf8Text(bytes, from, to)}"`) as string)
    }
    if (new Set(names).size !== names.length) return null // JSON.parse keeps the last of a repeated name
    const layout: FlatLayout = { names, raw }
    this.layouts.unshift(layout)
    if (this.layouts.length > MAX_LAYOUTS) this.layouts.pop()
    return layout
  }
}

function skipSpace(bytes: Buffer, i: number, end: number): number {
  while (i < end && isSpace(bytes[i])) i++
  return i
}

function matches(bytes: Buffer, i: number, end: number, word: Buffer): boolean {
  if (end - i < word.length) return false
  for (let k = 1; k < word.length; k++) if (bytes[i + k] !== word[k]) return false
  return true
}

/** Whether the string stringEnd last scanned had an escape. */
let escapedString = false

/**
 * The position of the closing quote of the string whose text starts at `i`, or -1: for invalid JSON (a raw control
 * character, a bad escape, no closing quote), and for `\u0000` (no PostgreSQL text holds it) and surrogate escapes
 * (left to the regular path, which decides what a lone one becomes). Sets `escapedString`.
 */
function stringEnd(bytes: Buffer, i: number, end: number): number {
  escapedString = false
  for (; i < end; i++) {
    const b = bytes[i]
    if (b === QUOTE) return i
    if (b < 0x20) return -1
    if (b !== BACKSLASH) continue
    escapedString = true
    const e = bytes[i + 1]
    if (e === LETTER_U) {
      if (i + 6 > end) return -1
      const h0 = HEX[bytes[i + 2]]
      const h1 = HEX[bytes[i + 3]]
      const h2 = HEX[bytes[i + 4]]
      const h3 = HEX[bytes[i + 5]]
      if ((h0 | h1 | h2 | h3) < 0) return -1
      const code = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3
      if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) return -1
      i += 5
    } else if (e < 128 && SIMPLE_ESCAPE[e] === 1) {
      i++
    } else {
      return -1
    }
  }
  return -1
}

/** What numberEnd last scanned: whether it was written as an integer, and the range of its JavaScript text. */
let integerNumber = false
let numberTextStart = 0
let numberTextEnd = 0

/**
 * The end of the JSON number starting at `start`, or -1 when it is not one or JavaScript's text for it cannot be
 * told from its bytes. Sets `integerNumber`, and `numberTextStart`/`numberTextEnd` to the range of the bytes that
 * are the text JavaScript prints for what JSON.parse makes of it (`String(value)`, which the regular path writes,
 * copy-rows.ts):
 * - an integer is its digits (beyond 2^53 the decoder keeps them exactly, as ExactInteger); `-0` is `0`;
 * - a decimal fraction loses its trailing zeros, and its point if nothing is left after it (`3.0` is `3`, `1.50` is
 *   `1.5`), and is taken when what remains has at most 15 significant digits (a double tells every such decimal
 *   apart, so the shortest text that reads back as the same double is no longer than it) and, below 1, at most five
 *   zeros after the point (below 1e-6 JavaScript prints an exponent);
 * - exponents are not taken.
 */
function numberEnd(bytes: Buffer, start: number, end: number): number {
  let i = start
  const negative = bytes[i] === MINUS
  if (negative) i++
  const intStart = i
  if (bytes[i] === DIGIT_0) i++
  else if (i < end && isDigit(bytes[i])) while (i < end && isDigit(bytes[i])) i++
  else return -1
  const integerEnd = i
  integerNumber = bytes[i] !== DOT
  if (!integerNumber) {
    i++
    if (!(i < end && isDigit(bytes[i]))) return -1
    while (i < end && isDigit(bytes[i])) i++
  }
  if (bytes[i] === LETTER_E || bytes[i] === LETTER_UPPER_E) return -1
  let textEnd = i
  if (!integerNumber) {
    while (bytes[textEnd - 1] === DIGIT_0) textEnd--
    if (textEnd === integerEnd + 1) textEnd = integerEnd // nothing left after the point
    const zeroInteger = integerEnd - intStart === 1 && bytes[intStart] === DIGIT_0
    let significant: number
    if (textEnd === integerEnd) {
      significant = zeroInteger ? 0 : integerEnd - intStart
    } else if (zeroInteger) {
      let zeros = 0
      while (bytes[integerEnd + 1 + zeros] === DIGIT_0) zeros++
      if (zeros > 5) return -1
      significant = textEnd - (integerEnd + 1 + zeros)
    } else {
      significant = integerEnd - intStart + (textEnd - integerEnd - 1)
    }
    if (significant > 15) return -1
  }
  // A zero prints without its sign.
  numberTextStart = negative && textEnd - intStart === 1 && bytes[intStart] === DIGIT_0 ? intStart : start
  numberTextEnd = textEnd
  return i
}

/** COPY's escapes for the bytes its text format reserves: backslash, newline, carriage return, tab. */
const COPY_ESCAPE = new Uint8Array(128)
COPY_ESCAPE[0x5c] = 0x5c
COPY_ESCAPE[0x0a] = 0x6e
COPY_ESCAPE[0x0d] = 0x72
COPY_ESCAPE[0x09] = 0x74
/** A JSON escape letter → its character, for the letters that stand for one byte. */
const JSON_UNESCAPE = new Uint8Array(128)
for (const [letter, code] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) {
  JSON_UNESCAPE[letter.charCodeAt(0)] = code
}
const COPY_NULL = Buffer.from('\\N')

/**
 * The most bytes `writeCopyValue` writes for a value of `length` bytes: never more than the JSON (an escape of two or
 * six bytes becomes at most three), but `\N` for an empty span's two.
 */
export function copyRoom(length: number): number {
  return length + 2
}

/** Whether field `f` of `object` is JSON null. */
export function isNullValue(object: FlatObject, f: number): boolean {
  return object.spans[object.spansAt + f * 3 + 2] === ValueKind.Null
}

/**
 * Writes field `f` of `object` as COPY text (what copy-rows.ts writes for the parsed value: the string's text, the
 * number's, `true`/`false`, or `\N`), COPY-escaped, into `out` at `at`; returns the new end. The caller has made room
 * (`copyRoom` of the value's length).
 */
export function writeCopyValue(object: FlatObject, f: number, out: Buffer, at: number): number {
  const { bytes, spans } = object
  const s = object.spansAt + f * 3
  const start = spans[s]
  const end = spans[s + 1]
  const kind = spans[s + 2] as ValueKind
  if (kind === ValueKind.Null) {
    out[at] = COPY_NULL[0]
    out[at + 1] = COPY_NULL[1]
    return at + 2
  }
  if (kind !== ValueKind.Escaped) {
    // A plain string holds no byte COPY reserves (JSON has no raw control characters and escapes backslashes), and
    // `true`, `false` and numbers are ASCII: copied as they are.
    return at + copyBytes(bytes, start, end, out, at)
  }
  for (let i = start; i < end; i++) {
    const b = bytes[i]
    if (b !== BACKSLASH) {
      out[at++] = b
      continue
    }
    const e = bytes[++i]
    let code: number
    if (e === LETTER_U) {
      code = (HEX[bytes[i + 1]] << 12) | (HEX[bytes[i + 2]] << 8) | (HEX[bytes[i + 3]] << 4) | HEX[bytes[i + 4]]
      i += 4
    } else {
      code = JSON_UNESCAPE[e]
    }
    if (code < 0x80) {
      const escape = COPY_ESCAPE[code]
      if (escape !== 0) {
        out[at++] = BACKSLASH
        out[at++] = escape
      } else {
        out[at++] = code
      }
    } else if (code < 0x800) {
      out[at++] = 0xc0 | (code >> 6)
      out[at++] = 0x80 | (code & 0x3f)
    } else {
      out[at++] = 0xe0 | (code >> 12)
      out[at++] = 0x80 | ((code >> 6) & 0x3f)
      out[at++] = 0x80 | (code & 0x3f)
    }
  }
  return at
}

/** Whether field `f` of `a` and field `g` of `b` are the same bytes of the same kind (so the same value). */
export function sameValue(a: FlatObject, f: number, b: FlatObject, g: number): boolean {
  const fa = a.spansAt + f * 3
  const gb = b.spansAt + g * 3
  const aStart = a.spans[fa]
  const length = a.spans[fa + 1] - aStart
  const bStart = b.spans[gb]
  if (a.spans[fa + 2] !== b.spans[gb + 2] || b.spans[gb + 1] - bStart !== length) return false
  for (let k = 0; k < length; k++) if (a.bytes[aStart + k] !== b.bytes[bStart + k]) return false
  return true
}
