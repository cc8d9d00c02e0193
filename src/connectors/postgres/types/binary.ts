/**
 * bytea and bit-string text → Debezium's binary encodings.
 */

export type BinaryHandlingMode = 'bytes' | 'base64' | 'base64-url-safe' | 'hex'

/** bytea text output: hex format (`\x0aff`, the default) or the legacy escape format (`a\000\\`). */
export function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex')
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (ch !== 0x5c) {
      bytes.push(ch)
    } else if (text[i + 1] === '\\') {
      bytes.push(0x5c)
      i++
    } else {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8))
      i += 3
    }
  }
  return Buffer.from(bytes)
}

/**
 * How a binary value appears in Debezium's JSON: `bytes` is a Connect bytes field, which the JSON converter writes
 * as base64; the other modes are string fields. Java's URL-safe encoder keeps the `=` padding.
 */
export function encodeBinary(bytes: Buffer, mode: BinaryHandlingMode): string {
  switch (mode) {
    case 'bytes':
    case 'base64':
      return bytes.toString('base64')
    case 'base64-url-safe': {
      const unpadded = bytes.toString('base64url')
      return unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, '=')
    }
    case 'hex':
      return bytes.toString('hex')
  }
}

/**
 * A bit string (`0101…`, most significant bit first) → little-endian bytes of its value with trailing zero bytes
 * dropped, as Debezium builds them through `BitSet.toByteArray()` (so `B'00'` is an empty array).
 */
export function bitsToBytes(text: string): Buffer {
  const bytes: number[] = []
  for (let bit = 0; bit < text.length; bit++) {
    if (text.charCodeAt(text.length - 1 - bit) !== 0x31) continue
    const index = bit >> 3
    while (bytes.length <= index) bytes.push(0)
    bytes[index] |= 1 << (bit & 7)
  }
  return Buffer.from(bytes)
}
