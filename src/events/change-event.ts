/**
 * The change-event model: what a source connector produces and what `events/envelope.ts` turns into Debezium's
 * JSON key and value. Connector-neutral: PostgreSQL specifics stop at the `SourceInfo` fields Debezium defines.
 */

/** Kafka Connect schema types, as Debezium's JSON converter names them. */
export type ConnectType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'string'
  | 'bytes'
  | 'array'
  | 'map'
  | 'struct'

/** A Kafka Connect schema for one field (or a whole struct), as it appears in `schema` with schemas enabled. */
export interface ConnectSchema {
  type: ConnectType
  optional: boolean
  /** Logical type, e.g. `io.debezium.time.MicroTimestamp`, `org.apache.kafka.connect.data.Decimal`. */
  name?: string
  version?: number
  /** Schema documentation; Debezium sets it on a few logical types (VariableScaleDecimal). */
  doc?: string
  parameters?: Record<string, string>
  default?: unknown
  /** Element schema of an array. */
  items?: ConnectSchema
  /** Fields of a struct, in order. */
  fields?: Array<ConnectSchema & { field: string }>
}

/**
 * A value in Debezium's JSON representation. `bigint` is used only for int64 values outside JS's safe integer
 * range; the encoder writes it as a JSON number without losing digits.
 */
export type EventValue = null | boolean | number | bigint | string | EventValue[] | { [key: string]: EventValue }

/** A row: column name → value, in the table's column order. */
export type Row = Record<string, EventValue>

/** The shape of a captured table at the time of an event. */
export interface TableSchema {
  /** Database-specific namespace (PostgreSQL: the schema name). */
  schema: string
  table: string
  /** Each column's schema, in table order; `field` is the column name. */
  columns: Array<ConnectSchema & { field: string }>
  /** Key columns, in key order; empty for a keyless table (the event key is then null). */
  keyColumns: string[]
}

/** Debezium's `source.snapshot` values. */
export type SnapshotMarker = 'true' | 'first' | 'first_in_data_collection' | 'last_in_data_collection' | 'last' | 'false' | 'incremental'

export interface SourceInfo {
  /** Logical server name: the topic prefix. */
  name: string
  db: string
  schema: string
  table: string
  /** Commit time of the change in the source, microseconds since the Unix epoch. */
  commitTimeUs: bigint
  snapshot: SnapshotMarker
  txId: number | null
  /** The change's LSN (or the snapshot's consistent point for reads). */
  lsn: bigint | null
  /** LSN of the last commit before this event, for Debezium's `sequence`. */
  lastCommitLsn: bigint | null
  xmin: number | null
}

export type Op = 'c' | 'u' | 'd' | 'r' | 't'

export interface ChangeEvent {
  op: Op
  table: TableSchema
  before: Row | null
  after: Row | null
  source: SourceInfo
  /** When the connector processed the event, microseconds since the Unix epoch. */
  processedAtUs: bigint
  /** Debezium's `transaction` block, when transaction metadata is enabled. */
  transaction?: { id: string; totalOrder: number; dataCollectionOrder: number } | null
}
