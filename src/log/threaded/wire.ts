/**
 * How records and errors cross between the main thread and the log's worker thread.
 *
 * Records travel packed: their keys and values copied back to back into one ArrayBuffer and their numbers into a
 * Float64Array, both transferred (moved, not copied) with `postMessage`. Structured clone of the records themselves
 * would copy every Buffer's whole backing store — for pooled Buffers that is 8 KB per 20-byte key — and would turn
 * Buffers into plain Uint8Arrays on the other side. Unpacked keys and values are Buffer views into the one transferred
 * buffer, so the receiving side copies nothing.
 */
import {
  GroupNotFoundError,
  InvalidLogRequestError,
  LogClosedError,
  TopicExistsError,
  TopicNotFoundError,
} from '../log-errors.js'
import type { AppendRecord, Headers, LogRecord } from '../topic-log.js'

/** Numbers per record in `meta`: topic index, partition, offset, timestamp, key length, value length. */
const FIELDS = 6
/** Marks an absent number (no partition, offset or timestamp given) or a null key or value (as a length). */
const ABSENT = -1

export interface PackedRecords {
  count: number
  topics: string[]
  meta: Float64Array
  data: Uint8Array
  /** Per record, or null when no record has headers (the common case). */
  headers: Array<Headers | null> | null
}

type Bytes = Uint8Array | null | undefined

interface RecordLike {
  topic: string
  partition?: number
  offset?: number
  timestamp?: number
  key: Bytes
  value: Bytes
  headers?: Headers
}

/** Returns a Buffer of at least `size` bytes that owns its whole ArrayBuffer (so it can be transferred). */
export type Allocate = (size: number) => Buffer

/** The buffers `postMessage` should move rather than copy. */
export function transferablesOf(packed: PackedRecords): ArrayBuffer[] {
  return [packed.meta.buffer as ArrayBuffer, packed.data.buffer as ArrayBuffer]
}

/**
 * Packs records to append. Caller mistakes a packed form cannot carry (a key that is not a Buffer, a timestamp
 * that is not a number) throw the log's own InvalidLogRequestError here, naming the field as the log would.
 */
export function packAppendRecords(records: AppendRecord[], allocate: Allocate = Buffer.allocUnsafeSlow): PackedRecords {
  records.forEach(checkAppendRecord)
  return pack(records, allocate)
}

export function packLogRecords(records: LogRecord[]): PackedRecords {
  return pack(records, Buffer.allocUnsafeSlow)
}

export function unpackAppendRecords(packed: PackedRecords): AppendRecord[] {
  return unpack(packed, (topic, partition, _offset, timestamp, key, value, headers) => {
    const record: AppendRecord = { topic, key, value }
    if (partition !== ABSENT) record.partition = partition
    if (timestamp !== ABSENT) record.timestamp = timestamp
    if (headers !== null) record.headers = headers
    return record
  })
}

export function unpackLogRecords(packed: PackedRecords): LogRecord[] {
  return unpack(packed, (topic, partition, offset, timestamp, key, value, headers) =>
    ({ topic, partition, offset, timestamp, key, value, headers: headers ?? {} }))
}

function checkAppendRecord(record: AppendRecord, index: number): void {
  const field = `records[${index}]`
  for (const name of ['key', 'value'] as const) {
    const bytes = record[name] as unknown
    if (bytes !== null && bytes !== undefined && !(bytes instanceof Uint8Array)) {
      throw new InvalidLogRequestError(`${field}.${name}`, `${field}.${name} must be a Buffer or null`)
    }
  }
  // -1 stands for "absent" in the packed form, so a given number must be one the log could accept (>= 0); the log
  // itself still checks the rest (integer, partition in range).
  if (record.timestamp !== undefined && !(typeof record.timestamp === 'number' && record.timestamp >= 0)) {
    throw new InvalidLogRequestError(`${field}.timestamp`, 'timestamp must be a non-negative integer (epoch ms)')
  }
  if (record.partition !== undefined && !(typeof record.partition === 'number' && record.partition >= 0)) {
    throw new InvalidLogRequestError(`${field}.partition`, 'partition must be a non-negative integer')
  }
}

function pack(records: RecordLike[], allocate: Allocate): PackedRecords {
  const topics: string[] = []
  const topicIndex = new Map<string, number>()
  const meta = new Float64Array(records.length * FIELDS)
  let headers: Array<Headers | null> | null = null
  let size = 0
  for (const record of records) size += (record.key?.length ?? 0) + (record.value?.length ?? 0)
  const data = allocate(size)
  let position = 0
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    let index = topicIndex.get(record.topic)
    if (index === undefined) {
      index = topics.push(record.topic) - 1
      topicIndex.set(record.topic, index)
    }
    const m = i * FIELDS
    meta[m] = index
    meta[m + 1] = record.partition ?? ABSENT
    meta[m + 2] = record.offset ?? ABSENT
    meta[m + 3] = record.timestamp ?? ABSENT
    meta[m + 4] = copyInto(data, record.key, position)
    position += Math.max(0, meta[m + 4])
    meta[m + 5] = copyInto(data, record.value, position)
    position += Math.max(0, meta[m + 5])
    if (record.headers !== undefined && Object.keys(record.headers).length > 0) {
      headers ??= new Array<Headers | null>(records.length).fill(null)
      headers[i] = record.headers
    }
  }
  return { count: records.length, topics, meta, data, headers }
}

/** Writes the bytes at `position` and returns their length (ABSENT for null). */
function copyInto(data: Buffer, bytes: Bytes, position: number): number {
  if (bytes === null || bytes === undefined) return ABSENT
  data.set(bytes, position)
  return bytes.length
}

function unpack<T>(
  packed: PackedRecords,
  make: (topic: string, partition: number, offset: number, timestamp: number, key: Buffer | null,
    value: Buffer | null, headers: Headers | null) => T,
): T[] {
  const { meta, data, topics, headers } = packed
  const out = new Array<T>(packed.count)
  let position = data.byteOffset
  const view = (length: number): Buffer | null => {
    if (length === ABSENT) return null
    const bytes = Buffer.from(data.buffer, position, length)
    position += length
    return bytes
  }
  for (let i = 0; i < packed.count; i++) {
    const m = i * FIELDS
    const key = view(meta[m + 4])
    const value = view(meta[m + 5])
    out[i] = make(topics[meta[m]], meta[m + 1], meta[m + 2], meta[m + 3], key, value, headers?.[i] ?? null)
  }
  return out
}

/** An error as it crosses threads: its class by name plus the data the log's error classes carry. */
export interface WireError {
  name: string
  message: string
  stack?: string
  topic?: string
  group?: string
  field?: string
}

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const { topic, group, field } = error as Partial<WireError>
  return { name: error.name, message: error.message, stack: error.stack, topic, group, field }
}

const ERROR_CLASSES: Record<string, { prototype: Error }> = {
  TopicNotFoundError,
  TopicExistsError,
  GroupNotFoundError,
  InvalidLogRequestError,
  LogClosedError,
}

/** Rebuilds the log's own error classes (callers map them with instanceof) with their original messages. */
export function fromWireError(wire: WireError): Error {
  const prototype = ERROR_CLASSES[wire.name]?.prototype ?? Error.prototype
  const error = Object.create(prototype) as Error & Partial<WireError>
  Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true })
  error.name = wire.name
  if (wire.stack !== undefined) error.stack = wire.stack
  if (wire.topic !== undefined) error.topic = wire.topic
  if (wire.group !== undefined) error.group = wire.group
  if (wire.field !== undefined) error.field = wire.field
  return error
}
