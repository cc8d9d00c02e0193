/**
 * The `postgresql` source connector's configuration keys: Streamkap's names (with their `.user.defined` spellings as
 * aliases), Debezium's defaults unless noted. Served by `GET /sources/connectors?connector_code=postgresql`.
 */
import { type ConfigProperty, type ConnectorSpec, zeroOrAtLeast } from '../connector-spec.js'

const p = (prop: ConfigProperty): ConfigProperty => prop

export const POSTGRES_SOURCE_PROPERTIES: readonly ConfigProperty[] = [
  p({ name: 'database.hostname', displayName: 'Hostname', description: 'PostgreSQL host name or IP address.', type: 'string', required: true, aliases: ['database.hostname.user.defined'] }),
  p({ name: 'database.port', displayName: 'Port', description: 'PostgreSQL port.', type: 'int', required: false, default: 5432, min: 1, max: 65535, aliases: ['database.port.user.defined'] }),
  p({ name: 'database.user', displayName: 'Username', description: 'A role with REPLICATION and SELECT on the captured tables.', type: 'string', required: true, aliases: ['database.user.user.defined'] }),
  p({ name: 'database.password', displayName: 'Password', description: 'Password of that role.', type: 'password', required: true, secret: true, aliases: ['database.password.user.defined'] }),
  p({ name: 'database.dbname', displayName: 'Database', description: 'The database to capture.', type: 'string', required: true, aliases: ['database.dbname.user.defined'] }),
  p({ name: 'database.sslmode', displayName: 'SSL mode', description: 'libpq sslmode. Sluice defaults to prefer (Streamkap: require) so a local server without TLS works.', type: 'enum', values: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'], required: false, default: 'prefer' }),
  p({ name: 'schema.include.list', displayName: 'Schemas', description: 'Comma-separated regular expressions of schemas to capture.', type: 'string', required: true, aliases: ['schema.include.list.user.defined'] }),
  p({ name: 'table.include.list', displayName: 'Tables', description: 'Comma-separated regular expressions of `schema.table` to capture; empty captures every table of the included schemas.', type: 'string', required: false, aliases: ['table.include.list.user.defined'] }),
  p({ name: 'column.include.list', displayName: 'Included columns', description: 'Comma-separated regular expressions of `schema.table.column` to include.', type: 'string', required: false, aliases: ['column.include.list.user.defined'] }),
  p({ name: 'column.exclude.list', displayName: 'Excluded columns', description: 'Comma-separated regular expressions of `schema.table.column` to exclude.', type: 'string', required: false, aliases: ['column.exclude.list.user.defined'] }),
  p({ name: 'column.include.list.toggled', displayName: 'Column include mode', description: 'Streamkap UI switch between include and exclude lists.', type: 'boolean', required: false, default: true, ignored: true }),
  p({ name: 'slot.name', displayName: 'Replication slot', description: 'Logical replication slot; created when missing. Cannot change after create.', type: 'string', required: false, setOnce: true }),
  p({ name: 'publication.name', displayName: 'Publication', description: 'Publication; created when missing. Cannot change after create.', type: 'string', required: false, setOnce: true }),
  p({ name: 'publication.autocreate.mode', displayName: 'Publication mode', description: 'filtered: FOR TABLE the captured tables; all_tables: FOR ALL TABLES; disabled: must exist.', type: 'enum', values: ['filtered', 'all_tables', 'disabled'], required: false, default: 'filtered', advanced: true }),
  p({ name: 'signal.data.collection', displayName: 'Signal table', description: 'Debezium-format signal table `schema.table` (id, type, data).', type: 'string', required: false, aliases: ['signal.data.collection.schema.or.database'] }),
  p({ name: 'heartbeat.enabled', displayName: 'Heartbeats', description: 'Emit logical heartbeat messages so an idle slot still advances.', type: 'boolean', required: false, default: true }),
  p({ name: 'heartbeat.interval.ms', displayName: 'Heartbeat interval (ms)', description: 'Time between heartbeats.', type: 'int', required: false, default: 60000, min: 1000, advanced: true }),
  p({ name: 'snapshot.mode', displayName: 'Snapshot mode', description: 'When to snapshot table data.', type: 'enum', values: ['initial', 'initial_only', 'no_data', 'always', 'when_needed'], required: false, default: 'initial' }),
  p({ name: 'snapshot.max.threads', displayName: 'Snapshot threads', description: 'Parallel chunk readers for blocking snapshots.', type: 'int', required: false, default: 1, min: 1, max: 16, aliases: ['streamkap.snapshot.parallelism'], advanced: true }),
  p({ name: 'incremental.snapshot.chunk.size', displayName: 'Incremental chunk size', description: 'Rows per incremental-snapshot chunk.', type: 'int', required: false, default: 1024, min: 1, advanced: true }),
  p({ name: 'decimal.handling.mode', displayName: 'Decimal handling', description: 'How numeric values are encoded.', type: 'enum', values: ['precise', 'double', 'string'], required: false, default: 'precise', advanced: true }),
  p({ name: 'binary.handling.mode', displayName: 'Binary handling', description: 'How bytea values are encoded.', type: 'enum', values: ['bytes', 'base64', 'base64-url-safe', 'hex'], required: false, default: 'bytes', advanced: true }),
  p({ name: 'time.precision.mode', displayName: 'Time precision', description: 'Debezium time.precision.mode.', type: 'enum', values: ['adaptive', 'adaptive_time_microseconds', 'connect'], required: false, default: 'adaptive', advanced: true }),
  p({ name: 'tombstones.on.delete', displayName: 'Tombstones', description: 'Write a null-value record after each delete.', type: 'boolean', required: false, default: true, advanced: true }),
  p({ name: 'value.converter.schemas.enable', displayName: 'Value schemas', description: 'Wrap values in {schema, payload}.', type: 'boolean', required: false, default: false, advanced: true }),
  p({ name: 'key.converter.schemas.enable', displayName: 'Key schemas', description: 'Wrap keys in {schema, payload}.', type: 'boolean', required: false, default: false, advanced: true }),
  p({ name: 'topic.prefix', displayName: 'Topic prefix', description: 'Topic names are `<prefix>.<schema>.<table>`; defaults to `source_<source id>`.', type: 'string', required: false, setOnce: true, advanced: true }),
  p({ name: 'topic.partitions', displayName: 'Partitions per topic', description: 'Partition count of new topics.', type: 'int', required: false, default: 1, min: 1, max: 64, advanced: true }),
  p({ name: 'replication.timeout.ms', displayName: 'Replication timeout (ms)', description: 'A replication connection on which the server sends nothing this long, even when asked to, is dropped and reconnected (the source reports why). 0: never; otherwise at least 1000. Like a standby\'s wal_receiver_timeout.', type: 'int', required: false, default: 60_000, min: 0, advanced: true }),
  p({ name: 'streaming.pause.max.ms', displayName: 'Max streaming pause (ms)', description: 'A blocking snapshot pausing streaming longer than this is reported.', type: 'int', required: false, default: 3_600_000, min: 1000, advanced: true }),
  p({ name: 'slot.max.retained.wal.bytes', displayName: 'Max retained WAL (bytes)', description: 'The slot retaining more WAL than this is reported.', type: 'int', required: false, default: 10 * 1024 * 1024 * 1024, min: 1, advanced: true }),
  p({ name: 'snapshot.read.only', displayName: 'Read-only snapshots', description: 'Streamkap setting, accepted for compatibility.', type: 'enum', values: ['Yes', 'No'], required: false, default: 'No', ignored: true, aliases: ['snapshot.read.only.user.defined'] }),
  p({ name: 'include.source.db.name.in.table.name', displayName: 'Database name in topic', description: 'Streamkap setting, accepted for compatibility.', type: 'boolean', required: false, default: false, ignored: true, aliases: ['include.source.db.name.in.table.name.user.defined'] }),
  p({ name: 'ssh.enabled', displayName: 'SSH tunnel', description: 'SSH tunnels are not supported by Sluice; must be false.', type: 'boolean', required: false, default: false }),
]

const SLOT_NAME = /^[a-z0-9_]{1,63}$/

export const POSTGRES_SOURCE_SPEC: ConnectorSpec = {
  code: 'postgresql',
  displayName: 'PostgreSQL',
  kind: 'source',
  properties: POSTGRES_SOURCE_PROPERTIES,
  dynamicDefaults: (sourceId) => ({
    'slot.name': `sluice_${sourceId}`,
    'publication.name': `sluice_pub_${sourceId}`,
    'topic.prefix': `source_${sourceId}`,
  }),
  check(config) {
    const problems = []
    const slot = config['slot.name']
    if (typeof slot === 'string' && !SLOT_NAME.test(slot)) {
      problems.push({ key: 'slot.name', msg: 'must be 1-63 lowercase letters, digits or underscores' })
    }
    if (config['ssh.enabled'] === true) problems.push({ key: 'ssh.enabled', msg: 'SSH tunnels are not supported' })
    for (const key of ['schema.include.list', 'table.include.list', 'column.include.list', 'column.exclude.list']) {
      const value = config[key]
      if (typeof value !== 'string') continue
      for (const pattern of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        try {
          new RegExp(pattern)
        } catch {
          problems.push({ key, msg: `invalid regular expression ${JSON.stringify(pattern)}` })
        }
      }
    }
    const prefix = config['topic.prefix']
    if (typeof prefix === 'string' && !/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) {
      problems.push({ key: 'topic.prefix', msg: 'may contain only letters, digits, ".", "_" and "-"' })
    }
    problems.push(...zeroOrAtLeast(config, 'replication.timeout.ms', 1000))
    return problems
  },
}
