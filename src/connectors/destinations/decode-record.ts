/**
 * Log record → DestinationRecord: parses the Debezium JSON key and value and strips the `{schema, payload}` wrapper
 * that sources write when `*.converter.schemas.enable` is on. A record that is not a Debezium change event throws a
 * RecordError, so it goes to the dead-letter topic instead of stopping delivery.
 */
import { parse as parseLossless } from 'lossless-json'
import type { LogRecord } from '../../log/topic-log.js'
import { type ChangeValue, type DestinationRecord, ExactInteger, RecordError } from './destination.js'

function parse(buffer: Buffer | null, what: string): unknown {
  if (buffer === null) return null
  try {
    return JSON.parse(buffer.toString('utf8'))
  } catch (err) {
    throw new RecordError(`the record's ${what} is not JSON`, { cause: err })
  }
}

/**
 * JSON.parse turns an int64 beyond 2^53 (a bigint column, Debezium writes it as a plain number) into the nearest
 * double: a different value. When a row holds an integer that may have been rounded, the text is parsed again with
 * lossless-json, keeping such integers exact (ExactInteger). Rare, so the fast JSON.parse stays the common path.
 */
function mayHaveLostDigits(row: unknown): boolean {
  if (row === null || typeof row !== 'object') return false
  for (const value of Object.values(row as Record<string, unknown>)) {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) return true
  }
  return false
}

function holdsExactIntegers(row: unknown): boolean {
  return row !== null && typeof row === 'object' && Object.values(row).some((value) => value instanceof ExactInteger)
}

function parseExact(buffer: Buffer): unknown {
  return parseLossless(buffer.toString('utf8'), null, (text) => {
    const number = Number(text)
    return Number.isSafeInteger(number) || !/^-?\d+$/.test(text) ? number : new ExactInteger(text)
  })
}

function unwrap(json: unknown): { payload: unknown; schema: unknown } {
  if (json && typeof json === 'object' && 'payload' in json && 'schema' in json) {
    const wrapped = json as { payload: unknown; schema: unknown }
    return { payload: wrapped.payload, schema: wrapped.schema }
  }
  return { payload: json, schema: null }
}

function decodeKey(record: LogRecord): Record<string, unknown> | null {
  let key = unwrap(parse(record.key, 'key')).payload
  if (record.key !== null && mayHaveLostDigits(key)) key = unwrap(parseExact(record.key)).payload
  if (key !== null && (typeof key !== 'object' || Array.isArray(key))) throw new RecordError('the record key is not a JSON object')
  return key as Record<string, unknown> | null
}

export function decodeRecord(record: LogRecord): DestinationRecord {
  const key = decodeKey(record)
  let value = unwrap(parse(record.value, 'value'))
  const rows = value.payload as { before?: unknown; after?: unknown } | null
  if (record.value !== null && (mayHaveLostDigits(rows?.before) || mayHaveLostDigits(rows?.after))) {
    value = unwrap(parseExact(record.value))
  }
  const envelope = value.payload as ChangeValue | null
  if (envelope !== null && (typeof envelope !== 'object' || !['c', 'u', 'd', 'r', 't'].includes(envelope.op))) {
    throw new RecordError('the record value is not a Debezium change event')
  }
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key,
    value: envelope,
    valueSchema: value.schema,
  }
}

/** How an event with no before image starts; its after image follows. */
const NO_BEFORE_HEAD = Buffer.from('{"before":null,"after":')
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * The end of the JSON object or array starting at `start` (past its closing bracket), or -1. Brackets are counted
 * outside strings only; it does not validate (see RecordDecoder for why it need not).
 */
function compositeEnd(bytes: Buffer, start: number): number {
  let depth = 0
  let inString = false
  for (let i = start; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === BACKSLASH) i++
      else if (b === QUOTE) inString = false
    } else if (b === QUOTE) {
      inString = true
    } else if (b === 0x7b || b === 0x5b) {
      depth++
    } else if ((b === 0x7d || b === 0x5d) && --depth === 0) {
      return i + 1
    }
  }
  return -1
}

/**
 * decodeRecord for a stream of records, parsing less where consecutive events share their envelope: the snapshot
 * reads of a table in the same millisecond differ only in their after image, and the envelope around it (source
 * block, op, timestamps) is most of an event's bytes. When a value is `{"before":null,"after":` + an object + the same
 * bytes as the last fully decoded event after its object, only the object is parsed. That is exact: the rest was
 * valid in that event, so the value is valid JSON exactly when the object is, and decodes to that event's envelope
 * with this after image. Anything else (or an after image holding an integer beyond 2^53) takes decodeRecord.
 */
export class RecordDecoder {
  /** The bytes after the after image of the last event decoded in full; its decoded envelope. */
  private tail: Buffer | null = null
  private envelope: ChangeValue | null = null

  decode(record: LogRecord): DestinationRecord {
    const value = record.value
    const afterStart = value !== null && value.length > NO_BEFORE_HEAD.length && value[NO_BEFORE_HEAD.length] === 0x7b &&
      value.compare(NO_BEFORE_HEAD, 0, NO_BEFORE_HEAD.length, 0, NO_BEFORE_HEAD.length) === 0 ? NO_BEFORE_HEAD.length : -1
    const afterEnd = afterStart < 0 ? -1 : compositeEnd(value as Buffer, afterStart)
    if (afterEnd > 0) {
      const after = this.sameEnvelopeAfter(value as Buffer, afterStart, afterEnd)
      if (after !== null) {
        const envelope = { ...(this.envelope as ChangeValue), after }
        return { topic: record.topic, partition: record.partition, offset: record.offset, key: decodeKey(record), value: envelope, valueSchema: null }
      }
    }
    const decoded = decodeRecord(record)
    // An envelope parsed the exact way (its after image held an int64 beyond 2^53) is not the one JSON.parse gives.
    const remember = afterEnd > 0 && decoded.valueSchema === null && decoded.value !== null && !holdsExactIntegers(decoded.value.after)
    this.tail = remember ? Buffer.from((value as Buffer).subarray(afterEnd)) : null
    this.envelope = remember ? decoded.value : null
    return decoded
  }

  /** The parsed after image when the rest of the value equals the remembered event's, else null. */
  private sameEnvelopeAfter(value: Buffer, afterStart: number, afterEnd: number): Record<string, unknown> | null {
    const tail = this.tail
    if (tail === null || value.length - afterEnd !== tail.length || value.compare(tail, 0, tail.length, afterEnd) !== 0) return null
    let after: unknown
    try {
      after = JSON.parse(value.toString('utf8', afterStart, afterEnd))
    } catch {
      return null // decodeRecord reports it
    }
    return mayHaveLostDigits(after) ? null : (after as Record<string, unknown>)
  }
}
