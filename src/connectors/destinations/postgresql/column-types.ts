/**
 * Chooses PostgreSQL column types for new target columns: from the envelope's Connect schema when the source wrote
 * one (Debezium's logical types as native columns, logical-types.ts), otherwise from the JSON values seen (numbers
 * become numeric, which takes integers and decimals alike; temporal values stay epoch numbers and decimals base64 or
 * strings, since without a schema nothing says what they are).
 */

import { ExactInteger } from '../destination.js'
import { type FieldSchema, nativeColumnType } from './logical-types.js'

const CONNECT_TYPES: Record<string, string> = {
  int8: 'smallint',
  int16: 'smallint',
  int32: 'integer',
  int64: 'bigint',
  float32: 'real',
  float64: 'double precision',
  boolean: 'boolean',
  string: 'text',
  bytes: 'text',
  array: 'jsonb',
  map: 'jsonb',
  struct: 'jsonb',
}

/** The fields of an envelope schema's `after` (or `before`) struct; empty when there is no schema. */
export function rowFields(valueSchema: unknown): FieldSchema[] {
  const envelope = valueSchema as FieldSchema | null
  const row = envelope?.fields?.find((f) => f.field === 'after') ?? envelope?.fields?.find((f) => f.field === 'before')
  return row?.fields ?? []
}

/** Column → type from an envelope schema (native types for Debezium's logical types, see logical-types.ts). */
export function typesFromSchema(valueSchema: unknown): Map<string, string> {
  const out = new Map<string, string>()
  for (const field of rowFields(valueSchema)) {
    if (!field.field || !field.type) continue
    out.set(field.field, nativeColumnType(field) ?? CONNECT_TYPES[field.type] ?? 'text')
  }
  return out
}

export function typeFromValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value === 'boolean') return 'boolean'
  // Schemaless JSON cannot tell an integer column from a decimal one whose first values happened to be whole.
  if (typeof value === 'number' || value instanceof ExactInteger) return 'numeric'
  if (typeof value === 'object') return 'jsonb'
  return 'text'
}

/** Types for `columns`, from the schema when known, else from the first non-null value in `rows`. */
export function chooseTypes(columns: Iterable<string>, rows: ReadonlyArray<Record<string, unknown>>, valueSchema: unknown): Map<string, string> {
  const fromSchema = typesFromSchema(valueSchema)
  const out = new Map<string, string>()
  for (const column of columns) {
    let type = fromSchema.get(column)
    for (let i = 0; type === undefined && i < rows.length; i++) type = typeFromValue(rows[i][column])
    out.set(column, type ?? 'text')
  }
  return out
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
