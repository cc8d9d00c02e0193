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

/**
 * Node's Buffer has `utf8Slice(start, end)` and `utf8Write(text, offset)`: what `toString('utf8', …)` and `write`
 * call after checking their arguments. Hot paths that have checked the range themselves call them directly (it
 * halved the cost of decoding column values in the streaming profile). They are not in @types/node, hence this type.
 */
type FastUtf8Buffer = Buffer & { utf8Slice(start: number, end: number): string; utf8Write(text: string, offset: number): number }

/** `source[start, end)` decoded as UTF-8; the caller has checked the range. */
export function utf8Text(source: Buffer, start: number, end: number): string {
  return (source as FastUtf8Buffer).utf8Slice(start, end)
}

/** Writes `text` as UTF-8 at `offset` and returns the bytes written; the caller has made room (3 bytes a unit). */
export function writeUtf8(target: Buffer, text: string, offset: number): number {
  return (target as FastUtf8Buffer).utf8Write(text, offset)
}

/** Replaces a full buffer: returns one of at least `needed` bytes holding `old`'s first `used`. */
export type Grow = (old: Buffer, used: number, needed: number) => Buffer

/** Doubles (at least), in a buffer of its own. */
const growByAllocating: Grow = (old, used, needed) => {
  const grown = Buffer.allocUnsafeSlow(Math.max(needed, old.length * 2))
  grown.set(old.subarray(0, used))
  return grown
}

/** A growable byte buffer that code writing bytes in a loop fills directly (`ensure`, then index `bytes`). */
export class ByteWriter {
  bytes: Buffer
  length = 0

  /** `initial`: its first buffer, or that buffer's size; `grow`: how a full buffer is replaced. */
  constructor(initial: number | Buffer = 16 * 1024, private readonly grow: Grow = growByAllocating) {
    this.bytes = typeof initial === 'number' ? Buffer.allocUnsafeSlow(initial) : initial
  }

  /** Makes room for `extra` more bytes and returns the buffer to write them into (it may have been replaced). */
  ensure(extra: number): Buffer {
    const needed = this.length + extra
    if (needed > this.bytes.length) this.bytes = this.grow(this.bytes, this.length, needed)
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
    this.length += writeUtf8(this.bytes, text, this.length)
  }
}
