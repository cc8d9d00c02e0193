/**
 * How the embedded log stores records: many to a row of the `batches` table, as one blob (Kafka's record batch, in
 * spirit), rather than a row per record.
 *
 * Why: a b-tree insert per record cost SQLite more than the record's bytes, and a read paid a row step and two
 * Buffer copies per record. Measured with better-sqlite3 alone on 300,000 records of 600 bytes (fsync on, reads 500
 * at a time): a row per record 2.1 µs of CPU a record to append and 4.7 µs to read; blobs of about 128 KiB 1.3 µs
 * and 0.7 µs (reads hand out views of the blob; nothing is copied).
 *
 * Layout (format 2), little-endian:
 *   u32 0xFFFFFFFF | u32 where the frames start | records back to back, offsets ascending | frames
 *   record: u32 offset − the row's base_offset | f64 timestamp (epoch ms) | i32 key length | i32 value length |
 *     i32 headers length (−1 for a null key or value, or no headers) | i32 frame (−1 for none) | key | value | headers
 *     (JSON text)
 *   frames: u32 count | per frame: i32 prefix length | i32 suffix length | prefix | suffix
 * A framed record's value is its frame's prefix, its own value bytes, then the frame's suffix (topic-log.ts
 * ValueFrame): a snapshot's change events share their envelope, which is more than half of each event's bytes, and
 * a row stores it once. Format 1 (rows written before frames) has no header, 24-byte record headers and no frames;
 * its first four bytes are always 0 (the first record's offset delta), so the two never look alike, and both are read.
 *
 * Format 3 (what a packed append writes, the path of snapshots and streaming) is format 2 split in two blobs: the
 * row's `data` holds the mark 0xFFFFFFFE, where the frames start, the record headers and the frames; its payload
 * holds each record's key, value and headers back to back, in record order (in a segment file or the row's
 * `payload` column, batch-store.ts). Why: a packed append's keys and values already lie back to back in its buffer,
 * so a row's payload is a view of that buffer (a copy only where a partition's records are interleaved with
 * another's), and the log's thread no longer copies every byte of every record into the blob. Measured on the
 * snapshot bench: the log thread's CPU 0.85–0.9 → 0.72–0.79 s a run of 1M rows. Rewritten rows (compaction,
 * retention's cut) are written in format 2.
 *
 * A record's `size` (what partitions.bytes, retention and read limits count) is its key, whole value and headers.
 */
import { copyBytes } from '../../util/byte-writer.js'
import type { ValueFrame } from '../topic-log.js'

const FORMAT_2 = 0xffffffff
const FORMAT_3 = 0xfffffffe
/** Format 2's and 3's row header: the format mark and where the frames start. */
const ROW_HEADER = 8
const RECORD_HEADER_1 = 24
const RECORD_HEADER = 28
const FRAME_HEADER = 8
const ABSENT = -1
/** Where the appender cuts a partition's records into rows: big enough that a row's cost is spread thin, small
 * enough that a read from the middle of a row does not load much it does not need (measured 64 KiB–1 MiB: 128 KiB
 * was as fast as any). A record larger than this gets a row of its own. */
export const TARGET_BATCH_BYTES = 128 * 1024

/** A row of the `batches` table, as stored. */
export interface BatchRow {
  id: number
  baseOffset: number
  lastOffset: number
  records: number
  bytes: number
  maxTimestamp: number
  data: Buffer
  /** Format 3's keys, values and headers; null for the other formats. */
  payload: Buffer | null
}

/** What an encoder produces: a row to insert (or to write over an existing one). */
export type EncodedBatch = Omit<BatchRow, 'id'>

/** Scratch for a timestamp's little-endian IEEE 754 bytes (the header stores it as a double). */
const TIMESTAMP_BYTES = new Uint8Array(8)
const TIMESTAMP = new DataView(TIMESTAMP_BYTES.buffer)

/** `value` (an int32, or a uint32 such as an offset delta) as 4 little-endian bytes at `at`. */
function writeInt32(data: Buffer, at: number, value: number): void {
  data[at] = value
  data[at + 1] = value >>> 8
  data[at + 2] = value >>> 16
  data[at + 3] = value >>> 24
}

/**
 * Builds rows' blobs, a record at a time, in offset order. `cut()` ends a row and starts the next in the same
 * buffer, so an appender that knows its records' total size allocates once for all of a partition's rows.
 * `split`: rows in format 3, whose payload is made of views of the sources given (which must then stay unchanged
 * until the rows are stored); otherwise format 2.
 */
export class BatchEncoder {
  private data: Buffer
  private position = 0
  private rowStart = 0
  private baseOffset = -1
  private lastOffset = -1
  private count = 0
  private bytes = 0
  private maxTimestamp = Number.MIN_SAFE_INTEGER
  /** The current row's frames, by identity: records sharing a frame object share its stored copy. */
  private frames: ValueFrame[] = []
  private frameIndex = new Map<ValueFrame, number>()
  /** Format 3: the current row's payload, as the pieces before the run being extended, and that run. */
  private pieces: Buffer[] = []
  private run: Uint8Array | null = null
  private runStart = 0
  private runEnd = 0
  private payloadBytes = 0

  /** `expectedBytes`: room to allocate, at the start and whenever it runs out (more if a row needs it). */
  constructor(private readonly expectedBytes = 4096, private readonly split = false) {
    this.data = Buffer.allocUnsafe(expectedBytes)
  }

  get length(): number {
    return this.count
  }

  /** Bytes of the current row's blob (and payload) written so far (its frames are written when it is cut). */
  get size(): number {
    return this.position - this.rowStart + this.payloadBytes
  }

  /** The record's bytes in a blob, not counting its frame (stored once per row). */
  static sizeOf(key: Uint8Array | null, value: Uint8Array | null, headers: Uint8Array | null): number {
    return BatchEncoder.sizeOfLengths(key?.length ?? ABSENT, value?.length ?? ABSENT) + (headers?.length ?? 0)
  }

  /** sizeOf for a record of a key and value of these lengths (ABSENT for null) and no headers. */
  static sizeOfLengths(keyLength: number, valueLength: number): number {
    return RECORD_HEADER + Math.max(keyLength, 0) + Math.max(valueLength, 0)
  }

  /** A frame's bytes in a row that holds it. */
  static frameSize(frame: ValueFrame): number {
    return FRAME_HEADER + frame.prefix.length + frame.suffix.length
  }

  /**
   * Room for the rows of records of `recordBytes` (sizeOf summed): a row stores each frame its records use, so at
   * most every row stores all `distinctFrameBytes`, and never more than a frame per record (`framedBytes`).
   */
  static rowsSize(recordBytes: number, distinctFrameBytes: number, framedBytes: number): number {
    const rows = Math.ceil(recordBytes / TARGET_BATCH_BYTES) + 1
    return recordBytes + rows * (ROW_HEADER + 4) + Math.min(rows * distinctFrameBytes, framedBytes)
  }

  /** `frame`: the stored value is `frame.prefix + value + frame.suffix` (`value` must not be null then). */
  add(offset: number, timestamp: number, key: Uint8Array | null, value: Uint8Array | null,
    headers: Uint8Array | null, frame?: ValueFrame): void {
    this.write(offset, timestamp, key, 0, key === null ? ABSENT : key.length, value, 0, value === null ? ABSENT : value.length,
      headers, frame)
  }

  /**
   * `add` for a key at `source[keyAt, keyAt + keyLength)` and a value at `source[valueAt, valueAt + valueLength)`
   * (ABSENT lengths for null), without headers: a packed append's records, where they are.
   */
  addRange(offset: number, timestamp: number, source: Uint8Array, keyAt: number, keyLength: number, valueAt: number,
    valueLength: number, frame?: ValueFrame): void {
    this.write(offset, timestamp, source, keyAt, keyLength, source, valueAt, valueLength, null, frame)
  }

  private write(offset: number, timestamp: number, keySource: Uint8Array | null, keyAt: number, keyLength: number,
    valueSource: Uint8Array | null, valueAt: number, valueLength: number, headers: Uint8Array | null,
    frame: ValueFrame | undefined): void {
    const headersLength = headers === null ? ABSENT : headers.length
    const payload = Math.max(keyLength, 0) + Math.max(valueLength, 0) + Math.max(headersLength, 0)
    this.reserve(ROW_HEADER + RECORD_HEADER + (this.split ? 0 : payload))
    if (this.count === 0) {
      this.baseOffset = offset
      this.data.writeUInt32LE(this.split ? FORMAT_3 : FORMAT_2, this.position)
      this.position += ROW_HEADER
    }
    let frameNo = ABSENT
    let frameBytes = 0
    if (frame !== undefined) {
      frameNo = this.frameIndex.get(frame) ?? ABSENT
      if (frameNo === ABSENT) {
        frameNo = this.frames.push(frame) - 1
        this.frameIndex.set(frame, frameNo)
      }
      frameBytes = frame.prefix.length + frame.suffix.length
    }
    const data = this.data
    let p = this.position
    // Byte stores rather than Buffer's writeInt32LE & co., whose argument checks cost more than the stores (this runs
    // once a record on the log's thread).
    writeInt32(data, p, offset - this.baseOffset)
    TIMESTAMP.setFloat64(0, timestamp, true)
    for (let i = 0; i < 8; i++) data[p + 4 + i] = TIMESTAMP_BYTES[i]
    writeInt32(data, p + 12, keyLength)
    writeInt32(data, p + 16, valueLength)
    writeInt32(data, p + 20, headersLength)
    writeInt32(data, p + 24, frameNo)
    p += RECORD_HEADER
    if (this.split) {
      if (keyLength > 0) this.addPayload(keySource as Uint8Array, keyAt, keyAt + keyLength)
      if (valueLength > 0) this.addPayload(valueSource as Uint8Array, valueAt, valueAt + valueLength)
      if (headers !== null) this.addPayload(headers, 0, headers.length)
    } else if (keyLength > 0 && valueLength > 0 && keySource === valueSource && keyAt + keyLength === valueAt) {
      // A packed append's key and value are adjacent: one copy.
      p += copyBytes(keySource as Uint8Array, keyAt, valueAt + valueLength, data, p)
    } else {
      if (keyLength > 0) p += copyBytes(keySource as Uint8Array, keyAt, keyAt + keyLength, data, p)
      if (valueLength > 0) p += copyBytes(valueSource as Uint8Array, valueAt, valueAt + valueLength, data, p)
    }
    if (headers !== null && !this.split) p += copyBytes(headers, 0, headers.length, data, p)
    this.position = p
    this.lastOffset = offset
    this.count++
    this.bytes += payload + frameBytes
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp
  }

  /** Format 3: `source[start, end)` is next in the payload; a range that continues the run extends it. */
  private addPayload(source: Uint8Array, start: number, end: number): void {
    if (source === this.run && start === this.runEnd) {
      this.runEnd = end
    } else {
      if (this.run !== null) this.pieces.push(view(this.run, this.runStart, this.runEnd))
      this.run = source
      this.runStart = start
      this.runEnd = end
    }
    this.payloadBytes += end - start
  }

  /** Ends the current row and returns it; what is added next starts a new row. */
  cut(): EncodedBatch {
    if (this.count > 0) this.writeFrames()
    const row: EncodedBatch = {
      baseOffset: this.baseOffset,
      lastOffset: this.lastOffset,
      records: this.count,
      bytes: this.bytes,
      maxTimestamp: this.maxTimestamp,
      data: this.data.subarray(this.rowStart, this.position),
      payload: this.split ? this.cutPayload() : null,
    }
    this.rowStart = this.position
    this.count = 0
    this.bytes = 0
    this.maxTimestamp = Number.MIN_SAFE_INTEGER
    this.frames = []
    this.frameIndex = new Map()
    return row
  }

  private cutPayload(): Buffer {
    const last = this.run === null ? EMPTY : view(this.run, this.runStart, this.runEnd)
    // One run (a partition's records in a row of their own in the append's buffer) is stored as the view it is.
    const payload = this.pieces.length === 0 ? last : Buffer.concat([...this.pieces, last], this.payloadBytes)
    this.pieces = []
    this.run = null
    this.payloadBytes = 0
    return payload
  }

  private writeFrames(): void {
    let room = 4
    for (const { prefix, suffix } of this.frames) room += FRAME_HEADER + prefix.length + suffix.length
    this.reserve(room)
    const data = this.data
    data.writeUInt32LE(this.position - this.rowStart, this.rowStart + 4)
    let p = this.position
    data.writeUInt32LE(this.frames.length, p)
    p += 4
    for (const { prefix, suffix } of this.frames) {
      data.writeInt32LE(prefix.length, p)
      data.writeInt32LE(suffix.length, p + 4)
      p += FRAME_HEADER
      p += copyBytes(prefix, 0, prefix.length, data, p)
      p += copyBytes(suffix, 0, suffix.length, data, p)
    }
    this.position = p
  }

  private reserve(room: number): void {
    if (this.position + room <= this.data.length) return
    // Rows already cut keep their views of the old buffer; the current row moves.
    const rowBytes = this.position - this.rowStart
    const grown = Buffer.allocUnsafe(Math.max(this.expectedBytes, 2 * (rowBytes + room)))
    this.data.copy(grown, 0, this.rowStart, this.position)
    this.data = grown
    this.rowStart = 0
    this.position = rowBytes
  }
}

const EMPTY = Buffer.alloc(0)

function view(source: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(source.buffer, source.byteOffset + start, end - start)
}

/**
 * Walks a row's records without building an object per record: after each `next()` that returns true the fields
 * describe the current record. Key, value body and headers are where they are in `data` (length ABSENT for null),
 * (format 3: in its payload), and a framed value's prefix and suffix in `frameData`; as views (or, for a framed value, a joined copy) only when asked for:
 * a packed read copies the ranges and never makes them.
 */
export class BatchCursor {
  offset = -1
  timestamp = 0
  keyAt = 0
  keyLength = ABSENT
  /** The value's own bytes: the whole value, or what goes between its frame's prefix and suffix. */
  valueAt = 0
  valueLength = ABSENT
  headersAt = 0
  headersLength = ABSENT
  /** The value's frame (an index into the row's frames), ABSENT for none; the lengths are 0 without one. */
  frame = ABSENT
  prefixAt = 0
  prefixLength = 0
  suffixAt = 0
  suffixLength = 0
  /** Key + whole value + headers bytes. */
  size = 0
  /** Where the row's frames are: the blob (`data` is the payload in format 3). */
  readonly frameData: Buffer
  readonly data: Buffer
  private position: number
  private readonly end: number
  private readonly recordHeader: number
  /** Format 3: where the next record's bytes start in the payload; −1 for formats whose bytes follow their header. */
  private payloadAt = -1
  /** Per frame: prefix at, prefix length, suffix at, suffix length. */
  private readonly frames: Int32Array
  private frameObjects: ValueFrame[] | null = null

  /** `payload`: the row's payload (format 3). */
  constructor(private readonly baseOffset: number, data: Buffer, payload: Buffer | null = null) {
    this.frameData = data
    this.data = payload ?? data
    const format = data.length >= ROW_HEADER ? data.readUInt32LE(0) : 0
    if (format === FORMAT_3) this.payloadAt = 0
    if (format === FORMAT_2 || format === FORMAT_3) {
      this.position = ROW_HEADER
      this.end = data.readUInt32LE(4)
      this.recordHeader = RECORD_HEADER
      const count = data.readUInt32LE(this.end)
      this.frames = new Int32Array(count * 4)
      let p = this.end + 4
      for (let i = 0; i < count; i++) {
        const prefixLength = data.readInt32LE(p)
        const suffixLength = data.readInt32LE(p + 4)
        p += FRAME_HEADER
        this.frames[i * 4] = p
        this.frames[i * 4 + 1] = prefixLength
        this.frames[i * 4 + 2] = p + prefixLength
        this.frames[i * 4 + 3] = suffixLength
        p += prefixLength + suffixLength
      }
    } else {
      this.position = 0
      this.end = data.length
      this.recordHeader = RECORD_HEADER_1
      this.frames = new Int32Array(0)
    }
  }

  get key(): Buffer | null {
    return this.keyLength === ABSENT ? null : this.data.subarray(this.keyAt, this.keyAt + this.keyLength)
  }

  /** The whole value: a view of the blob, or for a framed value its parts joined into a new Buffer. */
  get value(): Buffer | null {
    if (this.valueLength === ABSENT) return null
    const data = this.data
    if (this.frame === ABSENT) return data.subarray(this.valueAt, this.valueAt + this.valueLength)
    const frames = this.frameData
    return Buffer.concat([frames.subarray(this.prefixAt, this.prefixAt + this.prefixLength), this.body as Buffer,
      frames.subarray(this.suffixAt, this.suffixAt + this.suffixLength)])
  }

  /** The value's own bytes (without its frame), as a view. */
  get body(): Buffer | null {
    return this.valueLength === ABSENT ? null : this.data.subarray(this.valueAt, this.valueAt + this.valueLength)
  }

  get headers(): Buffer | null {
    return this.headersLength === ABSENT ? null : this.data.subarray(this.headersAt, this.headersAt + this.headersLength)
  }

  /** The current record's frame as views of the blob, the same object for every record sharing it. */
  get valueFrame(): ValueFrame | undefined {
    if (this.frame === ABSENT) return undefined
    this.frameObjects ??= []
    const frames = this.frameData
    return (this.frameObjects[this.frame] ??= {
      prefix: frames.subarray(this.prefixAt, this.prefixAt + this.prefixLength),
      suffix: frames.subarray(this.suffixAt, this.suffixAt + this.suffixLength),
    })
  }

  next(): boolean {
    const data = this.frameData
    let p = this.position
    if (p >= this.end) return false
    this.offset = this.baseOffset + data.readUInt32LE(p)
    this.timestamp = data.readDoubleLE(p + 4)
    const keyLength = data.readInt32LE(p + 12)
    const valueLength = data.readInt32LE(p + 16)
    const headersLength = data.readInt32LE(p + 20)
    const frame = this.recordHeader === RECORD_HEADER ? data.readInt32LE(p + 24) : ABSENT
    p += this.recordHeader
    // Format 3: the header is all the blob holds of the record; its bytes are next in the payload.
    const at = this.payloadAt
    if (at >= 0) {
      this.position = p
      p = at
    }
    this.keyAt = p
    this.keyLength = keyLength
    if (keyLength !== ABSENT) p += keyLength
    this.valueAt = p
    this.valueLength = valueLength
    if (valueLength !== ABSENT) p += valueLength
    this.headersAt = p
    this.headersLength = headersLength
    if (headersLength !== ABSENT) p += headersLength
    this.frame = frame
    if (frame === ABSENT) {
      this.prefixLength = 0
      this.suffixLength = 0
    } else {
      const frames = this.frames
      this.prefixAt = frames[frame * 4]
      this.prefixLength = frames[frame * 4 + 1]
      this.suffixAt = frames[frame * 4 + 2]
      this.suffixLength = frames[frame * 4 + 3]
    }
    this.size = Math.max(keyLength, 0) + Math.max(valueLength, 0) + Math.max(headersLength, 0) + this.prefixLength +
      this.suffixLength
    if (at >= 0) this.payloadAt = p
    else this.position = p
    return true
  }
}

/** Re-encodes a row without the records `drop` selects (framed values keep their frames); null when none is left. */
export function rewriteBatch(row: BatchRow, drop: (offset: number) => boolean): EncodedBatch | null {
  const encoder = new BatchEncoder(row.data.length + (row.payload?.length ?? 0))
  const cursor = new BatchCursor(row.baseOffset, row.data, row.payload)
  while (cursor.next()) {
    if (!drop(cursor.offset)) encoder.add(cursor.offset, cursor.timestamp, cursor.key, cursor.body, cursor.headers, cursor.valueFrame)
  }
  return encoder.length === 0 ? null : encoder.cut()
}
