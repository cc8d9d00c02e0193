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

export function decodeRecord(record: LogRecord): DestinationRecord {
  let key = unwrap(parse(record.key, 'key')).payload
  let value = unwrap(parse(record.value, 'value'))
  if (record.key !== null && mayHaveLostDigits(key)) key = unwrap(parseExact(record.key)).payload
  const rows = value.payload as { before?: unknown; after?: unknown } | null
  if (record.value !== null && (mayHaveLostDigits(rows?.before) || mayHaveLostDigits(rows?.after))) {
    value = unwrap(parseExact(record.value))
  }
  if (key !== null && (typeof key !== 'object' || Array.isArray(key))) throw new RecordError('the record key is not a JSON object')
  const envelope = value.payload as ChangeValue | null
  if (envelope !== null && (typeof envelope !== 'object' || !['c', 'u', 'd', 'r', 't'].includes(envelope.op))) {
    throw new RecordError('the record value is not a Debezium change event')
  }
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: key as Record<string, unknown> | null,
    value: envelope,
    valueSchema: value.schema,
  }
}
