/**
 * The typed view of a `postgresql` source's normalized config (see postgres-spec.ts for keys and defaults), read once
 * when a task starts.
 */
import type pg from 'pg'
import type { ValueConverterOptions } from './types/value-converters.js'
import { parseIncludeList } from './replication/table-filter.js'

export interface PostgresSourceConfig {
  connection: pg.ClientConfig
  database: string
  schemaInclude: string[]
  tableInclude: string[]
  columnInclude: RegExp[]
  columnExclude: RegExp[]
  slotName: string
  publicationName: string
  publicationMode: 'filtered' | 'all_tables' | 'disabled'
  signalTable: string | null
  heartbeatEnabled: boolean
  heartbeatIntervalMs: number
  snapshotMode: 'initial' | 'initial_only' | 'no_data' | 'always' | 'when_needed'
  snapshotMaxThreads: number
  incrementalChunkSize: number
  converter: ValueConverterOptions
  tombstonesOnDelete: boolean
  valueSchemas: boolean
  keySchemas: boolean
  topicPrefix: string
  topicPartitions: number
  streamingPauseMaxMs: number
  /** Silence on the replication connection after which it is dropped and reconnected (0: never). */
  replicationTimeoutMs: number
  maxRetainedWalBytes: number
}

type Raw = Readonly<Record<string, unknown>>

const str = (raw: Raw, key: string, fallback = ''): string => (typeof raw[key] === 'string' ? (raw[key] as string) : fallback)
const num = (raw: Raw, key: string, fallback: number): number => (typeof raw[key] === 'number' ? (raw[key] as number) : fallback)
const bool = (raw: Raw, key: string, fallback: boolean): boolean => (typeof raw[key] === 'boolean' ? (raw[key] as boolean) : fallback)

function regexList(text: string): RegExp[] {
  return parseIncludeList(text).map((p) => new RegExp(`^(?:${p})$`, 'i'))
}

/** libpq sslmode → node-postgres `ssl`. `prefer`/`allow` try TLS where node-postgres can only do one: no TLS. */
function sslOption(mode: string): pg.ClientConfig['ssl'] {
  switch (mode) {
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true }
    default:
      return false
  }
}

export function parsePostgresConfig(raw: Raw, sourceId: string): PostgresSourceConfig {
  const database = str(raw, 'database.dbname')
  return {
    connection: {
      host: str(raw, 'database.hostname'),
      port: num(raw, 'database.port', 5432),
      user: str(raw, 'database.user'),
      password: str(raw, 'database.password'),
      database,
      ssl: sslOption(str(raw, 'database.sslmode', 'prefer')),
      application_name: `sluice-${sourceId}`,
      connectionTimeoutMillis: 10_000,
    },
    database,
    schemaInclude: parseIncludeList(str(raw, 'schema.include.list')),
    tableInclude: parseIncludeList(str(raw, 'table.include.list')),
    columnInclude: regexList(str(raw, 'column.include.list')),
    columnExclude: regexList(str(raw, 'column.exclude.list')),
    slotName: str(raw, 'slot.name', `sluice_${sourceId}`),
    publicationName: str(raw, 'publication.name', `sluice_pub_${sourceId}`),
    publicationMode: str(raw, 'publication.autocreate.mode', 'filtered') as PostgresSourceConfig['publicationMode'],
    signalTable: str(raw, 'signal.data.collection') || null,
    heartbeatEnabled: bool(raw, 'heartbeat.enabled', true),
    heartbeatIntervalMs: num(raw, 'heartbeat.interval.ms', 60_000),
    snapshotMode: str(raw, 'snapshot.mode', 'initial') as PostgresSourceConfig['snapshotMode'],
    snapshotMaxThreads: num(raw, 'snapshot.max.threads', 1),
    incrementalChunkSize: num(raw, 'incremental.snapshot.chunk.size', 1024),
    converter: {
      decimalHandlingMode: str(raw, 'decimal.handling.mode', 'precise') as ValueConverterOptions['decimalHandlingMode'],
      binaryHandlingMode: str(raw, 'binary.handling.mode', 'bytes') as ValueConverterOptions['binaryHandlingMode'],
      timePrecisionMode: str(raw, 'time.precision.mode', 'adaptive') as ValueConverterOptions['timePrecisionMode'],
    },
    tombstonesOnDelete: bool(raw, 'tombstones.on.delete', true),
    valueSchemas: bool(raw, 'value.converter.schemas.enable', false),
    keySchemas: bool(raw, 'key.converter.schemas.enable', false),
    topicPrefix: str(raw, 'topic.prefix', `source_${sourceId}`),
    topicPartitions: num(raw, 'topic.partitions', 1),
    streamingPauseMaxMs: num(raw, 'streaming.pause.max.ms', 3_600_000),
    replicationTimeoutMs: num(raw, 'replication.timeout.ms', 60_000),
    maxRetainedWalBytes: num(raw, 'slot.max.retained.wal.bytes', 10 * 1024 ** 3),
  }
}

/** Whether a column is captured, under Debezium's include/exclude lists of `schema.table.column` regexes. */
export function isColumnIncluded(config: PostgresSourceConfig, schema: string, table: string, column: string): boolean {
  const name = `${schema}.${table}.${column}`
  if (config.columnInclude.length > 0) return config.columnInclude.some((r) => r.test(name))
  return !config.columnExclude.some((r) => r.test(name))
}
