/**
 * Whether bytes are one JSON text (RFC 8259, exactly what `JSON.parse` accepts), without building its values.
 *
 * Why hand-written: the HTTP routes embed stored JSON values in responses as they are, and only need to know that
 * they are JSON. `JSON.parse` answered that by building every object (1.5 µs of a consumer's fetch per 200-byte
 * record, the largest cost of serving it); a byte scan takes a fraction of that. No maintained npm package validates
 * JSON syntax without parsing it (the fast ones are native parsers). Checked against `JSON.parse` on generated and
 * mutated inputs (json-text.test.ts).
 *
 * UTF-8 is not checked here (bytes from 0x80 up are accepted inside strings): callers check it with `isUtf8`.
 */

const TAB = 0x09
const LF = 0x0a
const CR = 0x0d
const SPACE = 0x20
const QUOTE = 0x22
const PLUS = 0x2b
const COMMA = 0x2c
const MINUS = 0x2d
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const COLON = 0x3a
const OPEN_ARRAY = 0x5b
const BACKSLASH = 0x5c
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const LETTER_E = 0x65
const LETTER_CAPITAL_E = 0x45
const LETTER_U = 0x75

const TRUE = [0x74, 0x72, 0x75, 0x65]
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65]
const NULL = [0x6e, 0x75, 0x6c, 0x6c]

/** The letters that may follow a backslash besides `u`: " \ / b f n r t. */
const SIMPLE_ESCAPE = new Uint8Array(128)
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1

const HEX = new Uint8Array(128)
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1

/**
 * Deeper nesting is reported as not JSON. `JSON.parse` has no fixed limit but runs out of stack somewhere in the
 * thousands; callers fall back to it, so such values are treated as before.
 */
const MAX_DEPTH = 512

const IN_OBJECT = 1
const IN_ARRAY = 2
/** The open containers; shared, since a call never re-enters. */
const stack = new Uint8Array(MAX_DEPTH)

export function isJsonText(b: Uint8Array): boolean {
  const end = b.length
  let depth = 0
  let i = 0
  for (;;) {
    // A value starts at i (after whitespace).
    i = skipWhitespace(b, i, end)
    if (i >= end) return false
    const c = b[i]
    if (c === OPEN_OBJECT) {
      i = skipWhitespace(b, i + 1, end)
      if (i < end && b[i] === CLOSE_OBJECT) {
        i++
      } else {
        if (depth === MAX_DEPTH) return false
        stack[depth++] = IN_OBJECT
        i = memberName(b, i, end)
        if (i < 0) return false
        continue
      }
    } else if (c === OPEN_ARRAY) {
      i = skipWhitespace(b, i + 1, end)
      if (i < end && b[i] === CLOSE_ARRAY) {
        i++
      } else {
        if (depth === MAX_DEPTH) return false
        stack[depth++] = IN_ARRAY
        continue
      }
    } else if (c === QUOTE) {
      i = string(b, i, end)
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = number(b, i, end)
    } else {
      i = literal(b, i, end, c === TRUE[0] ? TRUE : c === FALSE[0] ? FALSE : c === NULL[0] ? NULL : null)
    }
    if (i < 0) return false

    // A value ended at i: close containers until one goes on with a comma, or the text ends.
    for (;;) {
      i = skipWhitespace(b, i, end)
      if (depth === 0) return i === end
      if (i >= end) return false
      const next = b[i]
      const container = stack[depth - 1]
      if (next === COMMA) {
        i++
        if (container === IN_OBJECT) {
          i = memberName(b, skipWhitespace(b, i, end), end)
          if (i < 0) return false
        }
        break
      }
      if (next !== (container === IN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return false
      depth--
      i++
    }
  }
}

function skipWhitespace(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i
    i++
  }
  return i
}

/** `"name"` then `:` at i; returns the index after the colon, or -1. */
function memberName(b: Uint8Array, i: number, end: number): number {
  if (i >= end || b[i] !== QUOTE) return -1
  i = string(b, i, end)
  if (i < 0) return -1
  i = skipWhitespace(b, i, end)
  return i < end && b[i] === COLON ? i + 1 : -1
}

/** The string starting with the quote at i; returns the index after its closing quote, or -1. */
function string(b: Uint8Array, i: number, end: number): number {
  i++
  while (i < end) {
    const c = b[i]
    if (c === QUOTE) return i + 1
    if (c === BACKSLASH) {
      const escape = i + 1 < end ? b[i + 1] : 0
      if (escape < 128 && SIMPLE_ESCAPE[escape] === 1) {
        i += 2
      } else if (escape === LETTER_U) {
        if (i + 6 > end) return -1
        for (let h = i + 2; h < i + 6; h++) if (b[h] >= 128 || HEX[b[h]] !== 1) return -1
        i += 6
      } else {
        return -1
      }
    } else if (c < SPACE) {
      return -1
    } else {
      i++
    }
  }
  return -1
}

/** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at i; returns the index after it, or -1. */
function number(b: Uint8Array, i: number, end: number): number {
  if (b[i] === MINUS) i++
  if (i >= end) return -1
  if (b[i] === ZERO) {
    i++
  } else if (b[i] > ZERO && b[i] <= NINE) {
    i = digits(b, i, end)
  } else {
    return -1
  }
  if (i < end && b[i] === DOT) {
    const start = i + 1
    i = digits(b, start, end)
    if (i === start) return -1
  }
  if (i < end && (b[i] === LETTER_E || b[i] === LETTER_CAPITAL_E)) {
    i++
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++
    const start = i
    i = digits(b, start, end)
    if (i === start) return -1
  }
  return i
}

function digits(b: Uint8Array, i: number, end: number): number {
  while (i < end && b[i] >= ZERO && b[i] <= NINE) i++
  return i
}

function literal(b: Uint8Array, i: number, end: number, word: number[] | null): number {
  if (word === null || i + word.length > end) return -1
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1
  return i + word.length
}
