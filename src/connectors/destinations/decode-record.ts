/**
 * Log record → DestinationRecord: parses the Debezium JSON key and value and strips the `{schema, payload}` wrapper
 * that sources write when `*.converter.schemas.enable` is on. A record that is not a Debezium change event throws a
 * RecordError, so it goes to the dead-letter topic instead of stopping delivery.
 */
import type { LogRecord } from '../../log/topic-log.js'
import { type ChangeValue, type DestinationRecord, RecordError } from './destination.js'

function parse(buffer: Buffer | null, what: string): unknown {
  if (buffer === null) return null
  try {
    return JSON.parse(buffer.toString('utf8'))
  } catch (err) {
    throw new RecordError(`the record's ${what} is not JSON`, { cause: err })
  }
}

function unwrap(json: unknown): { payload: unknown; schema: unknown } {
  if (json && typeof json === 'object' && 'payload' in json && 'schema' in json) {
    const wrapped = json as { payload: unknown; schema: unknown }
    return { payload: wrapped.payload, schema: wrapped.schema }
  }
  return { payload: json, schema: null }
}

export function decodeRecord(record: LogRecord): DestinationRecord {
  const key = unwrap(parse(record.key, 'key')).payload
  const value = unwrap(parse(record.value, 'value'))
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
