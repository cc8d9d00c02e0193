/**
 * A forward-only cursor over a pgoutput message buffer. Every read checks bounds first, so a truncated message
 * fails with a `PgOutputFormatError` naming the offset instead of returning garbage from beyond the end.
 */
import { utf8Text } from '../../../util/byte-writer.js'

export class PgOutputFormatError extends Error {
  override readonly name = 'PgOutputFormatError'
}

export class BufferReader {
  private offset = 0

  constructor(private readonly buffer: Buffer) {}

  get position(): number {
    return this.offset
  }

  get remaining(): number {
    return this.buffer.length - this.offset
  }

  private take(size: number, what: string): number {
    const at = this.offset
    if (at + size > this.buffer.length) {
      throw new PgOutputFormatError(
        `truncated pgoutput message: need ${size} byte(s) for ${what} at offset ${at}, have ${this.buffer.length - at}`,
      )
    }
    this.offset = at + size
    return at
  }

  uint8(what = 'int8'): number {
    return this.buffer.readUInt8(this.take(1, what))
  }

  int16(what = 'int16'): number {
    return this.buffer.readInt16BE(this.take(2, what))
  }

  int32(what = 'int32'): number {
    return this.buffer.readInt32BE(this.take(4, what))
  }

  /** Unsigned 32-bit: xids and OIDs are uint32 on the wire. */
  uint32(what = 'uint32'): number {
    return this.buffer.readUInt32BE(this.take(4, what))
  }

  int64(what = 'int64'): bigint {
    return this.buffer.readBigInt64BE(this.take(8, what))
  }

  /** LSNs are unsigned 64-bit positions. */
  uint64(what = 'uint64'): bigint {
    return this.buffer.readBigUInt64BE(this.take(8, what))
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(what = 'string'): string {
    const start = this.offset
    const end = this.buffer.indexOf(0, start)
    if (end < 0) {
      throw new PgOutputFormatError(`truncated pgoutput message: unterminated ${what} at offset ${start}`)
    }
    this.offset = end + 1
    return this.buffer.toString('utf8', start, end)
  }

  /** A view (not a copy) of the next `length` bytes. */
  bytes(length: number, what = 'bytes'): Buffer {
    const at = this.take(length, what)
    return this.buffer.subarray(at, at + length)
  }

  /** The next `length` bytes decoded as UTF-8 (every column value of every change: the hot path). */
  utf8(length: number, what = 'text'): string {
    const at = this.take(length, what)
    return utf8Text(this.buffer, at, at + length)
  }
}

