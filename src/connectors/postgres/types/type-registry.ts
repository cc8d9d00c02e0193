/**
 * The PostgreSQL types of one database, loaded once per connection from `pg_type`, and the Debezium mapping of a
 * column from its type OID and typmod (what a pgoutput Relation message carries). The same converters serve the
 * streaming path (pgoutput text values) and the snapshot path (`COPY … TO STDOUT` text), because both are
 * PostgreSQL's text output format.
 */
import type { ConnectSchema, EventValue } from '../../../events/change-event.js'
import { jsonWriter } from '../../../events/envelope.js'
import type { RelationColumn } from '../pgoutput/messages.js'
import type { ByteJsonWriter } from './byte-json.js'
import { parseArrayLiteral, type ArrayLiteral } from './array-literal.js'
import {
  builtinMapping,
  DEFAULT_VALUE_CONVERTER_OPTIONS,
  type TextJson,
  textJsonWriter,
  type TypeMapping,
  type ValueConverter,
  type ValueConverterOptions,
} from './value-converters.js'

/** The narrow query port we need (a `pg.Client` or `pg.Pool` fits). */
export interface QueryClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>
}

export interface PgTypeInfo {
  oid: number
  schema: string
  name: string
  /** pg_type.typtype: b base, e enum, d domain, c composite, r range, m multirange, p pseudo. */
  kind: string
  /** Element type of an array type (typcategory 'A'), else 0. */
  elementOid: number
  /** Base type and typmod of a domain, else 0 / -1. */
  baseOid: number
  baseTypeMod: number
  /** Enum labels in declaration order; empty for other kinds. */
  enumLabels: string[]
  delimiter: string
}

export interface ColumnMapping {
  schema: ConnectSchema
  convert(text: string): EventValue
  /** Text → the value's JSON text in an event (what `jsonWriter(schema)` writes for `convert(text)`). */
  json(text: string): string
  /** How that JSON follows from the text without converting, when it does (see TypeMapping). */
  textJson: TextJson | null
  /** A byte-level path to that JSON for the text's common form (see TypeMapping). */
  byteJson: ByteJsonWriter | null
}

const TYPES_SQL = `
  SELECT t.oid::int8 AS oid, n.nspname AS schema, t.typname AS name, t.typtype AS kind,
         -- int2vector and oidvector are category A too, but print space-separated without braces.
         CASE WHEN t.typcategory = 'A' AND t.oid NOT IN (22, 30) THEN t.typelem::int8 ELSE 0 END AS element_oid,
         t.typbasetype::int8 AS base_oid, t.typtypmod AS base_typmod, t.typdelim AS delimiter,
         COALESCE((SELECT array_agg(e.enumlabel::text ORDER BY e.oid) FROM pg_enum e WHERE e.enumtypid = t.oid),
                  '{}'::text[]) AS enum_labels
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE t.typtype IN ('b', 'e', 'd', 'r', 'm') OR t.typcategory = 'A'`

export async function loadTypeRegistry(
  client: QueryClient,
  options: Partial<ValueConverterOptions> = {},
): Promise<TypeRegistry> {
  const { rows } = await client.query(TYPES_SQL)
  const types: PgTypeInfo[] = rows.map((row) => ({
    oid: Number(row.oid),
    schema: row.schema,
    name: row.name,
    kind: row.kind,
    elementOid: Number(row.element_oid),
    baseOid: Number(row.base_oid),
    baseTypeMod: Number(row.base_typmod),
    enumLabels: row.enum_labels,
    delimiter: row.delimiter,
  }))
  return new TypeRegistry(types, options)
}

export class TypeRegistry {
  private readonly types = new Map<number, PgTypeInfo>()
  private readonly cache = new Map<string, TypeMapping>()
  readonly options: ValueConverterOptions

  constructor(types: Iterable<PgTypeInfo>, options: Partial<ValueConverterOptions> = {}) {
    for (const type of types) this.types.set(type.oid, type)
    this.options = { ...DEFAULT_VALUE_CONVERTER_OPTIONS, ...options }
  }

  /** The catalogue entry of a type, if it existed when the registry was loaded. */
  get(typeOid: number): PgTypeInfo | undefined {
    return this.types.get(typeOid)
  }

  /** True when the OID is known; a type created after loading needs a reload (pgoutput announces it with 'Y'). */
  has(typeOid: number): boolean {
    return this.types.has(typeOid)
  }

  /** Schema and converter for a column. `optional` is the column's nullability (pgoutput does not carry it). */
  forColumn(column: Pick<RelationColumn, 'typeOid' | 'typeMod'>, optional = true): ColumnMapping {
    const mapping = this.mapping(column.typeOid, column.typeMod)
    const schema = { ...mapping.schema, optional } as ConnectSchema
    const json = mapping.textJson ? textJsonWriter(mapping.textJson) : composedJson(schema, mapping.convert)
    return { schema, convert: mapping.convert, json, textJson: mapping.textJson ?? null, byteJson: mapping.byteJson ?? null }
  }

  /** Text → value for a type. Use it for both pgoutput tuples and `COPY … TO STDOUT` (text format) fields. */
  converterFor(typeOid: number, typeMod: number): ValueConverter {
    return this.mapping(typeOid, typeMod).convert
  }

  private mapping(typeOid: number, typeMod: number): TypeMapping {
    const key = `${typeOid}:${typeMod}`
    let mapping = this.cache.get(key)
    if (!mapping) {
      mapping = this.resolve(typeOid, typeMod, 0)
      this.cache.set(key, mapping)
    }
    return mapping
  }

  private resolve(typeOid: number, typeMod: number, depth: number): TypeMapping {
    if (depth > 32) throw new Error(`type ${typeOid}: domain/array nesting too deep`)
    const builtin = builtinMapping(typeOid, typeMod, this.options)
    if (builtin) return builtin
    const type = this.types.get(typeOid)
    if (type?.kind === 'd') {
      // A domain maps to its base type; the domain's own typmod applies when the column has none.
      return this.resolve(type.baseOid, typeMod >= 0 ? typeMod : type.baseTypeMod, depth + 1)
    }
    if (type?.kind === 'e') {
      return {
        schema: {
          type: 'string',
          name: 'io.debezium.data.Enum',
          version: 1,
          parameters: { allowed: type.enumLabels.join(',') },
        },
        convert: (text) => text,
        textJson: 'quoted',
      }
    }
    if (type && type.elementOid !== 0) return this.arrayMapping(type, typeMod, depth)
    // Unknown and unmapped types (ranges, geometric, tsvector, citext, …) keep their text form.
    return { schema: { type: 'string' }, convert: (text) => text, textJson: 'quoted' }
  }

  private arrayMapping(type: PgTypeInfo, typeMod: number, depth: number): TypeMapping {
    // An array column's typmod is its element's typmod (numeric(10,2)[] carries numeric(10,2)'s).
    const element = this.resolve(type.elementOid, typeMod, depth + 1)
    const elementType = this.types.get(type.elementOid)
    // Debezium declares enum array elements as required, all other element schemas as optional.
    const optional = elementType?.kind !== 'e'
    const convertElement = element.convert
    const convertLevel = (values: ArrayLiteral): EventValue[] =>
      values.map((value) => {
        if (value === null) return null
        return Array.isArray(value) ? convertLevel(value) : convertElement(value)
      })
    return {
      schema: { type: 'array', items: { ...element.schema, optional } as ConnectSchema },
      convert: (text) => convertLevel(parseArrayLiteral(text, type.delimiter)),
    }
  }
}

function composedJson(schema: ConnectSchema, convert: ValueConverter): (text: string) => string {
  const write = jsonWriter(schema)
  return (text) => write(convert(text))
}
