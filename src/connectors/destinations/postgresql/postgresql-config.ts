/**
 * The `postgresql` destination's configuration keys (Streamkap / Debezium JDBC sink names, with the spellings
 * Streamkap clients send as aliases). Served by `GET /destinations/connectors?connector_code=postgresql`.
 */
import { type ConfigProperty, type ConnectorSpec, zeroOrAtLeast } from '../../connector-spec.js'

const p = (prop: ConfigProperty): ConfigProperty => prop

const TABLE_NAME_PARTS = ['table', 'schema', 'topic', 'source']
/**
 * Change events per transaction. A batch costs a few round trips and a commit of the consumer offsets whatever its
 * size; measured on a snapshot of 1M rows into PostgreSQL (bench/pipeline.bench.ts): 5,000-row batches 137–143k
 * rows/s, 10,000 163–168k (later 192–195k), 20,000 171k (later 202–203k), 50,000 161k; the paced latency did not
 * change, as a steady stream fills far smaller batches.
 */
const DEFAULT_BATCH_SIZE = 20_000

export const POSTGRESQL_DESTINATION_SPEC: ConnectorSpec = {
  code: 'postgresql',
  displayName: 'PostgreSQL',
  kind: 'destination',
  properties: [
    p({ name: 'database.hostname', displayName: 'Hostname', description: 'Target PostgreSQL host name or IP address.', type: 'string', required: true, aliases: ['database.hostname.user.defined'] }),
    p({ name: 'database.port', displayName: 'Port', description: 'Target PostgreSQL port.', type: 'int', required: false, default: 5432, min: 1, max: 65535, aliases: ['database.port.user.defined'] }),
    p({ name: 'database.user', displayName: 'Username', description: 'A role that may create tables in the target schema and write to them.', type: 'string', required: true, aliases: ['connection.username', 'database.username.user.defined'] }),
    p({ name: 'database.password', displayName: 'Password', description: 'Password of that role.', type: 'password', required: true, secret: true, aliases: ['connection.password'] }),
    p({ name: 'database.dbname', displayName: 'Database', description: 'The target database.', type: 'string', required: true, aliases: ['database.database.user.defined'] }),
    p({ name: 'database.sslmode', displayName: 'SSL mode', description: 'disable or require (TLS without certificate verification).', type: 'enum', values: ['disable', 'prefer', 'require'], required: false, default: 'prefer' }),
    p({ name: 'schema', displayName: 'Schema', description: 'Schema of the target tables (created when missing); tables are named after the source tables.', type: 'string', required: false, default: 'public', aliases: ['table.name.prefix', 'schema.user.defined'] }),
    p({ name: 'table.name.format', displayName: 'Table name format', description: 'Target table name: ${table} (the source table, the default), ${schema} (the source schema), ${topic} (the whole topic, dots as underscores, so tables of different sources never share a target table) and ${source} (the topic prefix), combined with literal text.', type: 'string', required: false, default: '${table}', aliases: ['table.name.format.user.defined'] }),
    p({ name: 'insert.mode', displayName: 'Insert mode', description: 'upsert: one row per key, the latest wins. insert: append every change with __op, __source_lsn and __source_ts_ms columns.', type: 'enum', values: ['upsert', 'insert'], required: false, default: 'upsert', aliases: ['insert_mode', 'insert.mode.user.defined'] }),
    p({ name: 'delete.mode', displayName: 'Delete mode', description: 'delete: remove the row. soft: keep it and set __deleted = true.', type: 'enum', values: ['delete', 'soft'], required: false, default: 'delete', aliases: ['delete_mode', 'delete.mode.user.defined'] }),
    p({ name: 'schema.evolution', displayName: 'Schema evolution', description: 'basic: create tables and add new columns (native types such as numeric and timestamp when events carry their schema). none: tables must exist; unknown columns are dropped.', type: 'enum', values: ['basic', 'none'], required: false, default: 'basic', aliases: ['schema_evolution', 'schema.evolution.user.defined'] }),
    p({ name: 'batch.size', displayName: 'Batch size', description: 'Most change events applied per transaction (fewer when fewer are waiting, and at most 16 MiB of them).', type: 'int', required: false, default: DEFAULT_BATCH_SIZE, min: 1, max: 50_000, aliases: ['consumer.override.max.poll.records'], advanced: true }),
    p({ name: 'server.check.interval.ms', displayName: 'Server check interval (ms)', description: 'While a batch takes longer than this, Sluice checks on a connection of its own that the target still answers; a check with no answer within this time fails the batch (the destination reports why and retries). 0: never; otherwise at least 1000.', type: 'int', required: false, default: 30_000, min: 0, advanced: true }),
    p({ name: 'tasks.max', displayName: 'Tasks', description: 'Streamkap setting, accepted for compatibility (one task per pipeline).', type: 'int', required: false, default: 1, min: 1, ignored: true, advanced: true }),
  ],
  check(config) {
    const tooShort = zeroOrAtLeast(config, 'server.check.interval.ms', 1000)
    if (tooShort.length > 0) return tooShort
    const schema = config.schema
    if (typeof schema === 'string' && !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(schema)) {
      return [{ key: 'schema', msg: 'must be a plain identifier (letters, digits, _ and $, up to 63 characters)' }]
    }
    const format = config['table.name.format']
    if (typeof format === 'string') {
      const unknown = [...format.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]).filter((name) => !TABLE_NAME_PARTS.includes(name))
      if (unknown.length > 0 || format.trim() === '') {
        return [{ key: 'table.name.format', msg: `may use only \${table}, \${schema}, \${topic} and \${source}${unknown.length ? ` (not \${${unknown[0]}})` : ''}` }]
      }
    }
    return []
  },
}

export interface PostgresqlDestinationConfig {
  host: string
  port: number
  user: string
  password: string
  database: string
  ssl: boolean
  schema: string
  /** `table.name.format` (see tableNameFor in batch-plan.ts). */
  tableNameFormat: string
  insertMode: 'upsert' | 'insert'
  deleteMode: 'delete' | 'soft'
  evolve: boolean
  batchSize: number
  /** `server.check.interval.ms` (see server-check.ts); 0 never. */
  serverCheckMs: number
}

export function readConfig(config: Readonly<Record<string, unknown>>): PostgresqlDestinationConfig {
  return {
    host: String(config['database.hostname']),
    port: Number(config['database.port'] ?? 5432),
    user: String(config['database.user']),
    password: String(config['database.password'] ?? ''),
    database: String(config['database.dbname']),
    ssl: config['database.sslmode'] === 'require',
    schema: String(config.schema ?? 'public'),
    tableNameFormat: String(config['table.name.format'] ?? '${table}'),
    insertMode: config['insert.mode'] === 'insert' ? 'insert' : 'upsert',
    deleteMode: config['delete.mode'] === 'soft' ? 'soft' : 'delete',
    evolve: config['schema.evolution'] !== 'none',
    batchSize: Number(config['batch.size'] ?? DEFAULT_BATCH_SIZE),
    serverCheckMs: Number(config['server.check.interval.ms'] ?? 30_000),
  }
}
