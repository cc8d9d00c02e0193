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
  if (record.value !== null && rowsMayHaveLostDigits(value.payload)) value = unwrap(parseExact(record.value))
  return changeRecord(record, key, value.payload, value.schema)
}

function rowsMayHaveLostDigits(payload: unknown): boolean {
  const rows = payload as { before?: unknown; after?: unknown } | null
  return mayHaveLostDigits(rows?.before) || mayHaveLostDigits(rows?.after)
}

function changeRecord(record: LogRecord, key: Record<string, unknown> | null, payload: unknown, valueSchema: unknown): DestinationRecord {
  const envelope = payload as ChangeValue | null
  if (envelope !== null && (typeof envelope !== 'object' || !['c', 'u', 'd', 'r', 't'].includes(envelope.op))) {
    throw new RecordError('the record value is not a Debezium change event')
  }
  return { topic: record.topic, partition: record.partition, offset: record.offset, key, value: envelope, valueSchema }
}

/** What precedes the after image of an event with no before image: unwrapped, or as the payload of a schema wrapper. */
const NO_BEFORE_HEAD = Buffer.from('{"before":null,"after":')
const WRAPPED_NO_BEFORE = Buffer.from('"payload":{"before":null,"after":')
/** How a value with its schema starts, and what follows the schema. */
const SCHEMA_HEAD = Buffer.from('{"schema":')
const PAYLOAD_KEY = Buffer.from(',"payload":')
const CLOSE_BRACE = 0x7d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b

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
    } else if (b === OPEN_BRACE || b === 0x5b) {
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
 * block, op, timestamps, and the schema when events carry one) is most of an event's bytes. A snapshot read decoded in
 * full is remembered as head + after image + tail; a value made of the same head, an object, and the same tail then
 * has only its object parsed. That is exact: head and tail were valid around an after image in that event, so the
 * value is valid JSON exactly when the object is, and decodes to that event's envelope with this after image.
 * Anything else (or an after image holding an integer beyond 2^53) takes decodeRecord.
 *
 * Events that carry their schema (`{"schema":…,"payload":…}`) repeat it too, every event of a table the same bytes
 * and most of the event: when a value starts with the schema bytes of the last one decoded in full, only its payload
 * is parsed, and the schema is shared. Exact for the same reason.
 */
export class RecordDecoder {
  /** The remembered snapshot read: the bytes before and after its after image, its envelope and schema. */
  private head: Buffer | null = null
  private tail: Buffer | null = null
  private envelope: ChangeValue | null = null
  private valueSchema: unknown = null
  /** The last schema-carrying value's bytes up to its payload (`{"schema":…,"payload":`), and its schema. */
  private schemaHead: Buffer | null = null
  private schema: unknown = null

  decode(record: LogRecord): DestinationRecord {
    const value = record.value
    if (value !== null && this.head !== null) {
      const after = this.sameEnvelopeAfter(value)
      if (after !== null) {
        const envelope = { ...(this.envelope as ChangeValue), after }
        return { topic: record.topic, partition: record.partition, offset: record.offset, key: decodeKey(record), value: envelope, valueSchema: this.valueSchema }
      }
    }
    if (value !== null && this.schemaHead !== null) {
      const decoded = this.samePayloadSchema(record, value)
      if (decoded !== null) return decoded
    }
    const decoded = decodeRecord(record)
    this.remember(value, decoded)
    this.rememberSchema(value, decoded)
    return decoded
  }

  /** The record decoded parsing only its payload, when its schema bytes are the remembered ones; else null. */
  private samePayloadSchema(record: LogRecord, value: Buffer): DestinationRecord | null {
    const head = this.schemaHead as Buffer
    if (value.length <= head.length || value[value.length - 1] !== CLOSE_BRACE) return null
    if (value.compare(head, 0, head.length, 0, head.length) !== 0) return null
    let payload: unknown
    try {
      payload = JSON.parse(value.toString('utf8', head.length, value.length - 1))
    } catch {
      return null // decodeRecord reports it
    }
    if (rowsMayHaveLostDigits(payload)) return null
    return changeRecord(record, decodeKey(record), payload, this.schema)
  }

  /** Keeps a schema-carrying value's bytes up to its payload, or forgets the last ones. */
  private rememberSchema(value: Buffer | null, decoded: DestinationRecord): void {
    this.schemaHead = null
    if (value === null || decoded.valueSchema === null || value.compare(SCHEMA_HEAD, 0, SCHEMA_HEAD.length, 0, Math.min(SCHEMA_HEAD.length, value.length)) !== 0) return
    // The value was valid JSON: the object after `{"schema":` is the schema, and `,"payload":` must follow it.
    const schemaEnd = value[SCHEMA_HEAD.length] === OPEN_BRACE ? compositeEnd(value, SCHEMA_HEAD.length) : -1
    const payloadAt = schemaEnd + PAYLOAD_KEY.length
    if (schemaEnd < 0 || value.compare(PAYLOAD_KEY, 0, PAYLOAD_KEY.length, schemaEnd, payloadAt) !== 0 || holdsExactIntegers(decoded.value?.after)) return
    this.schemaHead = Buffer.from(value.subarray(0, payloadAt))
    this.schema = decoded.valueSchema
  }

  /** Keeps a snapshot read's head and tail (see above), or forgets the last one. */
  private remember(value: Buffer | null, decoded: DestinationRecord): void {
    this.head = null
    // An envelope parsed the exact way (its after image held an int64 beyond 2^53) is not the one JSON.parse gives.
    if (value === null || decoded.value?.op !== 'r' || holdsExactIntegers(decoded.value.after)) return
    let afterStart: number
    if (decoded.valueSchema === null) {
      if (value.compare(NO_BEFORE_HEAD, 0, NO_BEFORE_HEAD.length, 0, Math.min(NO_BEFORE_HEAD.length, value.length)) !== 0) return
      afterStart = NO_BEFORE_HEAD.length
    } else {
      const at = value.indexOf(WRAPPED_NO_BEFORE)
      if (at < 0) return
      afterStart = at + WRAPPED_NO_BEFORE.length
    }
    if (value[afterStart] !== OPEN_BRACE) return
    const afterEnd = compositeEnd(value, afterStart)
    // The split must be where the after image really is: its bytes parse to the decoded after image.
    if (afterEnd < 0 || JSON.stringify(JSON.parse(value.toString('utf8', afterStart, afterEnd))) !== JSON.stringify(decoded.value.after)) return
    this.head = Buffer.from(value.subarray(0, afterStart))
    this.tail = Buffer.from(value.subarray(afterEnd))
    this.envelope = decoded.value
    this.valueSchema = decoded.valueSchema
  }

  /** The parsed after image when the value is the remembered head, an object and the remembered tail, else null. */
  private sameEnvelopeAfter(value: Buffer): Record<string, unknown> | null {
    const head = this.head as Buffer
    const tail = this.tail as Buffer
    if (value.length <= head.length + tail.length || value[head.length] !== OPEN_BRACE) return null
    if (value.compare(head, 0, head.length, 0, head.length) !== 0) return null
    const afterEnd = compositeEnd(value, head.length)
    if (afterEnd < 0 || value.length - afterEnd !== tail.length || value.compare(tail, 0, tail.length, afterEnd) !== 0) return null
    let after: unknown
    try {
      after = JSON.parse(value.toString('utf8', head.length, afterEnd))
    } catch {
      return null // decodeRecord reports it
    }
    return mayHaveLostDigits(after) ? null : (after as Record<string, unknown>)
  }
}
