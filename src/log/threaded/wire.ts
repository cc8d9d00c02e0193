/**
 * How records and errors cross between the main thread and the log's worker thread.
 *
 * Records travel packed (record-batch.ts): their keys and values back to back in one ArrayBuffer and their numbers
 * in a Float64Array, both transferred (moved, not copied) with `postMessage`. Structured clone of the records
 * themselves would copy every Buffer's whole backing store — for pooled Buffers that is 8 KB per 20-byte key — and
 * would turn Buffers into plain Uint8Arrays on the other side. Unpacked keys and values are Buffer views into the
 * one transferred buffer, so the receiving side copies nothing.
 */
import {
  GroupNotFoundError,
  InvalidLogRequestError,
  LogClosedError,
  TopicExistsError,
  TopicNotFoundError,
} from '../log-errors.js'
import { type PackedRecords, RecordBatch, unpackRecords } from '../record-batch.js'
import type { AppendRecord, LogRecord } from '../topic-log.js'
import { checkValueFrame } from '../value-frame.js'

export { type PackedAppendResults, packAppendResults, unpackAppendRecords, unpackAppendResults } from '../record-batch.js'

/** The buffers `postMessage` should move rather than copy. */
export function transferablesOf(packed: PackedRecords): ArrayBuffer[] {
  const buffers = [packed.meta.buffer as ArrayBuffer, packed.data.buffer as ArrayBuffer]
  if (packed.frameOf) buffers.push(packed.frameOf.buffer as ArrayBuffer)
  return buffers
}

/**
 * Packs records to append. Caller mistakes a packed form cannot carry (a key that is not a Buffer, a timestamp
 * that is not a number) throw the log's own InvalidLogRequestError here, naming the field as the log would.
 */
export function packAppendRecords(records: AppendRecord[] | RecordBatch): PackedRecords {
  if (records instanceof RecordBatch) return records.pack()
  records.forEach(checkAppendRecord)
  return RecordBatch.of(records).pack()
}

export function unpackLogRecords(packed: PackedRecords): LogRecord[] {
  return unpackRecords(packed, (topic, partition, offset, timestamp, key, value, headers) =>
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
  checkValueFrame(record.frame, record.value, `${field}.frame`)
  // -1 stands for "absent" in the packed form, so a given number must be one the log could accept (>= 0); the log
  // itself still checks the rest (integer, partition in range).
  if (record.timestamp !== undefined && !(typeof record.timestamp === 'number' && record.timestamp >= 0)) {
    throw new InvalidLogRequestError(`${field}.timestamp`, 'timestamp must be a non-negative integer (epoch ms)')
  }
  if (record.partition !== undefined && !(typeof record.partition === 'number' && record.partition >= 0)) {
    throw new InvalidLogRequestError(`${field}.partition`, 'partition must be a non-negative integer')
  }
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
