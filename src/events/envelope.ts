/**
 * ChangeEvent → Debezium's JSON key and value, byte for byte what Debezium's PostgreSQL connector (3.1–3.4) plus
 * Kafka Connect's JsonConverter write for the same change. Runs once per change, so each table's row writer and
 * schema JSON are built once and cached on its TableSchema object (a new TableSchema after a relation change
 * gets new ones).
 */
import type { ChangeEvent, ConnectSchema, EventValue, Op, Row, SnapshotMarker, SourceInfo, TableSchema } from './change-event.js'
import { envelopeSchema, keySchema, schemaToJson, type Field } from './connect-schema.js'
import { javaDouble, jsonAny, jsonInteger, jsonString } from './json.js'

export interface EncodeKeyOptions {
  schemasEnable: boolean
}

export interface EncodeValueOptions {
  schemasEnable: boolean
  /** `source.version`; Debezium writes its own release here. */
  connectorVersion?: string
}

export const DEFAULT_CONNECTOR_VERSION = '3.4.0.Final'

type Writer = (value: EventValue) => string

interface CompiledTable {
  row: (row: Row) => string
  key: ((row: Row) => string) | null
  keyFields: Field[]
  /** `{"schema":…,"payload":` by record name (the topic prefix is per event, not per table). */
  valueSchemas: Map<string, string>
  keySchemas: Map<string, string>
  sourceNames: SourceNames | null
}

interface SourceNames {
  dbName: string
  schemaName: string
  tableName: string
  db: string
  table: string
}

const compiled = new WeakMap<TableSchema, CompiledTable>()

/**
 * The event's key, or null for a keyless table (and for truncate), as Debezium sends it. Keys and values are JSON
 * text, which a RecordBatch (log/record-batch.ts) writes straight into its buffer as UTF-8.
 */
export function encodeKey(event: ChangeEvent, options: EncodeKeyOptions): string | null {
  const table = compile(event.table)
  if (!table.key || event.op === 't') return null
  const row = event.op === 'd' ? event.before : event.after ?? event.before
  if (!row) return null
  return keyText(event.table, table.key(row), event.source, options)
}

/**
 * A key from its payload JSON (the key struct, written by the caller: a snapshot reader writes it straight from
 * column text), with the schema wrapped around it when schemas are enabled.
 */
export function keyText(schema: TableSchema, payload: string, source: SourceInfo, options: EncodeKeyOptions): string {
  if (!options.schemasEnable) return payload
  const table = compile(schema)
  const name = recordName(source, schema)
  let head = table.keySchemas.get(name)
  if (head === undefined) {
    head = `{"schema":${schemaToJson(keySchema(name, table.keyFields))},"payload":`
    table.keySchemas.set(name, head)
  }
  return `${head}${payload}}`
}

/** The key of the tombstone that follows a delete: the deleted row's key (the tombstone's value is null). */
export function encodeTombstoneKey(event: ChangeEvent, options: EncodeKeyOptions): string | null {
  return encodeKey({ ...event, op: 'd', before: event.before ?? event.after }, options)
}

export function encodeValue(event: ChangeEvent, options: EncodeValueOptions): string {
  const table = compile(event.table)
  return valueText(event.table, {
    before: event.before ? table.row(event.before) : 'null',
    after: event.after ? table.row(event.after) : 'null',
    source: event.source,
    snapshot: event.source.snapshot,
    transaction: event.transaction,
    op: event.op,
    processedAtUs: event.processedAtUs,
  }, options)
}

/** An event whose row images are already JSON text (see `keyText`); `snapshot` overrides `source.snapshot`. */
export interface ValueParts {
  before: string
  after: string
  source: SourceInfo
  snapshot: SnapshotMarker
  transaction?: ChangeEvent['transaction']
  op: Op
  processedAtUs: bigint
}

export function valueText(schema: TableSchema, parts: ValueParts, options: EncodeValueOptions): string {
  const table = compile(schema)
  const version = options.connectorVersion ?? DEFAULT_CONNECTOR_VERSION
  const payload =
    `{"before":${parts.before},"after":${parts.after}` +
    `,"source":${sourceJson(parts.source, parts.snapshot, version, table)}` +
    `,"transaction":${transactionJson(parts.transaction)}` +
    `,"op":"${parts.op}",${timestamps(parts.processedAtUs)}}`
  if (!options.schemasEnable) return payload
  const name = recordName(parts.source, schema)
  let head = table.valueSchemas.get(name)
  if (head === undefined) {
    head = `{"schema":${schemaToJson(envelopeSchema(name, schema.columns))},"payload":`
    table.valueSchemas.set(name, head)
  }
  return `${head}${payload}}`
}

function recordName(source: SourceInfo, table: TableSchema): string {
  return `${source.name}.${table.schema}.${table.table}`
}

function sourceJson(source: SourceInfo, snapshot: SnapshotMarker, version: string, table: CompiledTable): string {
  // Incremental snapshot reads carry no position of their own (PostgresSourceInfoStructMaker).
  const incremental = snapshot === 'incremental'
  const lastCommit = source.lastCommitLsn === null ? 'null' : `\\"${source.lastCommitLsn}\\"`
  const lsn = source.lsn === null ? 'null' : `\\"${source.lsn}\\"`
  const [tsMs, tsUs, tsNs] = commitTimeParts.get(source.commitTimeUs)
  const cached = names(table, source)
  return (
    `${sourceHead(version, source.name)},"ts_ms":${tsMs},"snapshot":"${snapshot}"` +
    cached.db +
    // `sequence` is itself a JSON array of decimal LSN strings, written into a string field: the LSNs are digits,
    // so its JSON string form is known without escaping it (the quotes inside become \").
    `,"sequence":"[${lastCommit},${lsn}]","ts_us":${tsUs},"ts_ns":${tsNs}` +
    cached.table +
    `,"txId":${incremental || source.txId === null ? 'null' : source.txId}` +
    `,"lsn":${incremental || source.lsn === null ? 'null' : source.lsn}` +
    `,"xmin":${incremental || source.xmin === null ? 'null' : source.xmin}}`
  )
}

/**
 * `,"db":…` and `,"schema":…,"table":…` of the source block, kept on the compiled table: escaping the same three
 * names for every event showed in profiles.
 */
function names(table: CompiledTable, source: SourceInfo): SourceNames {
  let cached = table.sourceNames
  if (cached === null || cached.dbName !== source.db || cached.schemaName !== source.schema ||
    cached.tableName !== source.table) {
    cached = {
      dbName: source.db,
      schemaName: source.schema,
      tableName: source.table,
      db: `,"db":${jsonString(source.db)}`,
      table: `,"schema":${jsonString(source.schema)},"table":${jsonString(source.table)}`,
    }
    table.sourceNames = cached
  }
  return cached
}

// `{"version":…,"connector":"postgresql","name":…` rarely changes: one entry per version and topic prefix.
const sourceHeads = new Map<string, string>()

let lastHead: { version: string; name: string; head: string } | null = null

function sourceHead(version: string, name: string): string {
  // Nearly always the same as for the previous event: skip building the map key.
  if (lastHead !== null && lastHead.version === version && lastHead.name === name) return lastHead.head
  const key = `${version}\u0000${name}`
  let head = sourceHeads.get(key)
  if (head === undefined) {
    if (sourceHeads.size > 1000) sourceHeads.clear()
    head = `{"version":${jsonString(version)},"connector":"postgresql","name":${jsonString(name)}`
    sourceHeads.set(key, head)
  }
  lastHead = { version, name, head }
  return head
}

function transactionJson(transaction: ChangeEvent['transaction']): string {
  if (!transaction) return 'null'
  return (
    `{"id":${jsonString(transaction.id)},"total_order":${transaction.totalOrder}` +
    `,"data_collection_order":${transaction.dataCollectionOrder}}`
  )
}

let lastProcessedUs: bigint | null = null
let lastTimestamps = ''

function timestamps(us: bigint): string {
  // Events encoded in the same millisecond share their processing time (see ChangeMapper's clock).
  if (us !== lastProcessedUs) {
    const [ms, micros, ns] = timeParts(us)
    lastTimestamps = `"ts_ms":${ms},"ts_us":${micros},"ts_ns":${ns}`
    lastProcessedUs = us
  }
  return lastTimestamps
}

/** `timeParts` of the last commit time seen: every event of a transaction has the same one. */
const commitTimeParts = {
  us: null as bigint | null,
  parts: ['', '', ''] as [string, string, string],
  get(us: bigint): [string, string, string] {
    if (us !== this.us) {
      this.parts = timeParts(us)
      this.us = us
    }
    return this.parts
  },
}

/** ms (floored), µs and ns of a microsecond timestamp, as decimal text (string slicing beats number conversion). */
function timeParts(us: bigint): [string, string, string] {
  if (us >= 1000n) {
    const micros = us.toString()
    return [micros.slice(0, -3), micros, `${micros}000`]
  }
  const ms = us >= 0n || us % 1000n === 0n ? us / 1000n : us / 1000n - 1n
  return [String(ms), String(us), String(us * 1000n)]
}

function compile(table: TableSchema): CompiledTable {
  let entry = compiled.get(table)
  if (entry) return entry
  const keyFields = table.keyColumns.map((name) => {
    const column = table.columns.find((c) => c.field === name)
    if (!column) throw new Error(`key column ${name} is not a column of ${table.schema}.${table.table}`)
    return column
  })
  entry = {
    row: structWriter(table.columns),
    key: keyFields.length > 0 ? structWriter(keyFields) : null,
    keyFields,
    valueSchemas: new Map(),
    keySchemas: new Map(),
    sourceNames: null,
  }
  compiled.set(table, entry)
  return entry
}

/** A writer for a struct with the given fields, in schema order; absent members are written as null. */
function structWriter(fields: Field[]): (row: Row) => string {
  const names = fields.map((f) => f.field)
  const prefixes = fields.map((f, i) => `${i === 0 ? '{' : ','}${jsonString(f.field)}:`)
  const writers = fields.map((f) => writerFor(f))
  const count = fields.length
  if (count === 0) return () => '{}'
  return (row) => {
    let out = ''
    for (let i = 0; i < count; i++) {
      const value = row[names[i]]
      out += prefixes[i] + (value === null || value === undefined ? 'null' : writers[i](value))
    }
    return `${out}}`
  }
}

/** A value of the given schema → its JSON text, as it is written inside an event. */
export function jsonWriter(schema: ConnectSchema): (value: EventValue) => string {
  return writerFor(schema)
}

function writerFor(schema: ConnectSchema): Writer {
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return (v) => (typeof v === 'number' || typeof v === 'bigint' ? jsonInteger(v) : jsonAny(v))
    case 'float32':
    case 'float64':
      return (v) => (typeof v === 'number' ? javaDouble(v) : jsonAny(v))
    case 'boolean':
      return (v) => (v === true ? 'true' : v === false ? 'false' : jsonAny(v))
    case 'string':
    case 'bytes':
      return (v) => (typeof v === 'string' ? jsonString(v) : jsonAny(v))
    case 'array': {
      const item = schema.items ? writerFor(schema.items) : jsonAny
      return (v) => (Array.isArray(v) ? `[${v.map((x) => (x === null ? 'null' : item(x))).join(',')}]` : jsonAny(v))
    }
    case 'struct': {
      const struct = structWriter(schema.fields ?? [])
      return (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? struct(v) : jsonAny(v))
    }
    default:
      return jsonAny
  }
}
