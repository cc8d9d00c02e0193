/**
 * Kafka Connect schemas: the ones Debezium's PostgreSQL connector declares for the envelope, source block and
 * transaction block, and their JSON form exactly as JsonConverter writes it with `schemas.enable=true` (key order
 * type, fields/items, optional, name, version, doc, parameters, default, then `field` for struct members).
 * Target: Debezium 3.1–3.4 (envelope schema version 2, versioned source block, no origin fields).
 */
import type { ConnectSchema } from './change-event.js'
import { jsonAny, jsonString } from './json.js'

export type Field = ConnectSchema & { field: string }

const SNAPSHOT_VALUES = 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental'

const required = (field: string, type: ConnectSchema['type']): Field => ({ field, type, optional: false })
const optional = (field: string, type: ConnectSchema['type']): Field => ({ field, type, optional: true })

export const POSTGRES_SOURCE_SCHEMA: ConnectSchema = {
  type: 'struct',
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
  version: 1,
  fields: [
    required('version', 'string'),
    required('connector', 'string'),
    required('name', 'string'),
    required('ts_ms', 'int64'),
    {
      field: 'snapshot',
      type: 'string',
      optional: true,
      name: 'io.debezium.data.Enum',
      version: 1,
      parameters: { allowed: SNAPSHOT_VALUES },
      default: 'false',
    },
    required('db', 'string'),
    optional('sequence', 'string'),
    optional('ts_us', 'int64'),
    optional('ts_ns', 'int64'),
    required('schema', 'string'),
    required('table', 'string'),
    optional('txId', 'int64'),
    optional('lsn', 'int64'),
    optional('xmin', 'int64'),
  ],
}

export const TRANSACTION_BLOCK_SCHEMA: ConnectSchema = {
  type: 'struct',
  optional: true,
  name: 'event.block',
  version: 1,
  fields: [required('id', 'string'), required('total_order', 'int64'), required('data_collection_order', 'int64')],
}

export const ENVELOPE_SCHEMA_VERSION = 2

/** The value schema: `<prefix>.<schema>.<table>.Envelope` around the row struct `….Value`. */
export function envelopeSchema(recordName: string, columns: Field[]): ConnectSchema {
  const row: ConnectSchema = { type: 'struct', optional: true, name: `${recordName}.Value`, fields: columns }
  return {
    type: 'struct',
    optional: false,
    name: `${recordName}.Envelope`,
    version: ENVELOPE_SCHEMA_VERSION,
    fields: [
      { ...row, field: 'before' },
      { ...row, field: 'after' },
      { ...POSTGRES_SOURCE_SCHEMA, field: 'source' },
      { ...TRANSACTION_BLOCK_SCHEMA, field: 'transaction' },
      required('op', 'string'),
      optional('ts_ms', 'int64'),
      optional('ts_us', 'int64'),
      optional('ts_ns', 'int64'),
    ],
  }
}

/** The key schema `<prefix>.<schema>.<table>.Key` (unversioned, as Debezium builds it). */
export function keySchema(recordName: string, keyFields: Field[]): ConnectSchema {
  return { type: 'struct', optional: false, name: `${recordName}.Key`, fields: keyFields }
}

/** JsonConverter's `asJsonSchema`, serialized. */
export function schemaToJson(schema: ConnectSchema, field?: string): string {
  let out = `{"type":${jsonString(schema.type)}`
  if (schema.type === 'struct') {
    out += `,"fields":[${(schema.fields ?? []).map((f) => schemaToJson(f, f.field)).join(',')}]`
  } else if (schema.type === 'array' && schema.items) {
    out += `,"items":${schemaToJson(schema.items)}`
  }
  out += `,"optional":${schema.optional ? 'true' : 'false'}`
  if (schema.name !== undefined) out += `,"name":${jsonString(schema.name)}`
  if (schema.version !== undefined) out += `,"version":${schema.version}`
  if (schema.doc !== undefined) out += `,"doc":${jsonString(schema.doc)}`
  if (schema.parameters !== undefined) {
    const params = Object.entries(schema.parameters).map(([k, v]) => `${jsonString(k)}:${jsonString(v)}`)
    out += `,"parameters":{${params.join(',')}}`
  }
  if (schema.default !== undefined && schema.default !== null) out += `,"default":${jsonAny(schema.default)}`
  if (field !== undefined) out += `,"field":${jsonString(field)}`
  return `${out}}`
}
