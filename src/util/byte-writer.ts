/**
 * Byte-level writing for encoders that write JSON straight into buffers (the snapshot's row encoder, record batches).
 * Most ranges they copy are a few bytes (a field name, a number), where Buffer#copy's argument checks and native call
 * cost far more than the copy itself.
 */

/** Ranges up to this long are copied byte by byte; longer ones natively. */
const SHORT_COPY = 32

/** Copies `source[start, end)` to `target` at `at`; returns the number of bytes copied. */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): number {
  const length = end - start
  if (length <= SHORT_COPY) {
    for (let i = 0; i < length; i++) target[at + i] = source[start + i]
  } else {
    target.set(source.subarray(start, end), at)
  }
  return length
}

/** A field's text: `utf8Slice` is what Buffer#toString calls after checking its arguments; not in @types/node. */
export function utf8Text(source: Buffer, start: number, end: number): string {
  return (source as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(start, end)
}

/** A growable byte buffer that code writing bytes in a loop fills directly (`ensure`, then index `bytes`). */
export class ByteWriter {
  bytes: Buffer
  length = 0

  constructor(initialBytes = 16 * 1024) {
    this.bytes = Buffer.allocUnsafeSlow(initialBytes)
  }

  /** Makes room for `extra` more bytes and returns the buffer to write them into (it may have been replaced). */
  ensure(extra: number): Buffer {
    const needed = this.length + extra
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.bytes.length * 2))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
    }
    return this.bytes
  }

  /** Appends `source[start, end)`. */
  range(source: Uint8Array, start = 0, end = source.length): void {
    const bytes = this.ensure(end - start)
    this.length += copyBytes(source, start, end, bytes, this.length)
  }

  /** Appends a string as UTF-8. */
  utf8(text: string): void {
    // Room for the worst case (3 bytes per UTF-16 unit) saves measuring the string first.
    this.ensure(text.length * 3)
    this.length += (this.bytes as Buffer & { utf8Write(text: string, offset: number): number }).utf8Write(text, this.length)
  }
}
