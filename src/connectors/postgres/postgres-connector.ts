/**
 * The `postgresql` source connector: validates the database, makes sure the publication and the replication slot
 * exist, and runs the streaming phase from the stored offset. Wires the parts; the work is in `replication/`,
 * `streaming/` and `types/`.
 */
import pg from 'pg'
import { ConnectorError } from '../connector-error.js'
import { endClient } from '../../util/pg-connection-ending.js'
import type { SnapshotRun } from '../snapshot-run.js'
import type { SourceConnector, SourceTaskContext, TableDescription, TaskLogger } from '../source.js'
import { parsePostgresConfig, type PostgresSourceConfig } from './postgres-config.js'
import type { Lsn } from './replication/lsn.js'
import { checkSource, listTables } from './replication/preflight.js'
import { dropPublication, ensurePublication } from './replication/publication.js'
import { connectReplication, type ReplicationConnection } from './replication/replication-connection.js'
import { toConnectorError } from './replication/replication-errors.js'
import { dropSlot, getSlot } from './replication/slot.js'
import type { TableName } from './replication/sql.js'
import { runIncrementalSnapshot } from './snapshot/incremental-snapshot.js'
import { runSnapshotCoordinator } from './snapshot/snapshot-coordinator.js'
import { readSnapshotTables } from './snapshot/table-snapshot-reader.js'
import { readTableShape } from './snapshot/table-schema-reader.js'
import { topicName } from './streaming/change-mapper.js'
import { StreamingControl } from './streaming/streaming-control.js'
import { runStreaming } from './streaming/streaming-source.js'
import { loadTypeRegistry } from './types/type-registry.js'

async function connect(config: PostgresSourceConfig, signal?: AbortSignal): Promise<pg.Client> {
  const client = new pg.Client(config.connection)
  // A dropped connection also rejects the query in flight; without a listener the 'error' event would crash.
  client.on('error', () => undefined)
  const abort = () => void endClient(client)
  signal?.addEventListener('abort', abort, { once: true })
  try {
    await client.connect()
  } catch (error) {
    signal?.removeEventListener('abort', abort)
    throw toConnectorError(error, `connecting to ${config.connection.host}:${config.connection.port}`)
  }
  return client
}

async function resolveTables(sql: pg.Client, config: PostgresSourceConfig) {
  const tables = await listTables(sql, { schemaInclude: config.schemaInclude, tableInclude: config.tableInclude })
  if (tables.length === 0) {
    throw new ConnectorError('missing_table', `no table matches schema.include.list ${JSON.stringify(config.schemaInclude.join(','))} and table.include.list ${JSON.stringify(config.tableInclude.join(','))}`, { retriable: false })
  }
  return tables
}

async function run(context: SourceTaskContext): Promise<void> {
  const { signal, logger } = context
  const config = parsePostgresConfig(context.config, context.sourceId)
  const sql = await connect(config, signal)
  // One failing part (streaming or snapshots) stops the other.
  const inner = new AbortController()
  const stopInner = () => inner.abort()
  signal.addEventListener('abort', stopInner, { once: true })
  let replication: ReplicationConnection | undefined
  try {
    const tables = await resolveTables(sql, config)
    await checkSource(sql, { tables, slotName: config.slotName, publicationName: config.publicationName })
    if (config.publicationMode !== 'disabled') {
      const result = await ensurePublication(sql, config.publicationName, config.publicationMode === 'all_tables' ? 'all' : tables)
      if (result !== 'unchanged') logger.info({ publication: config.publicationName, result }, 'publication ready')
    }
    let registry = await loadTypeRegistry(sql, config.converter)
    replication = await connectReplication(config.connection, { signal: inner.signal })
    const topics = new Set<string>()
    const ensureTopic = async (topic: string) => {
      if (topics.has(topic)) return
      await context.log.createTopic(topic, { partitions: config.topicPartitions })
      topics.add(topic)
    }
    const readTables = (snapshotRun: SnapshotRun, snapshotName: string | null, lsn: Lsn | null) =>
      readSnapshotTables({ run: snapshotRun, channel: context.snapshots, config, registry, log: context.log, metrics: context.metrics, logger, signal: inner.signal, snapshotName, lsn, ensureTopic })

    context.onRunning()
    const startLsn = await prepareStart({ context, config, sql, replication, tables, readTables })
    if (startLsn === null) {
      // initial_only: the snapshot is done and there is nothing to stream.
      await new Promise((resolve) => inner.signal.addEventListener('abort', resolve, { once: true }))
      return
    }
    const control = new StreamingControl()
    const health = startHealthChecks(context, config, control)
    const streaming = runStreaming({
      config, log: context.log, offsets: context.offsets, metrics: context.metrics, logger, signal: inner.signal, sql, replication, registry, startLsn, control,
      reloadRegistry: async () => (registry = await loadTypeRegistry(sql, config.converter)),
      onStreaming: context.onRunning,
    })
    const snapshots = runSnapshotCoordinator({
      channel: context.snapshots, control, logger, signal: inner.signal,
      readBlocking: async (snapshotRun) => void (await readTables(snapshotRun, null, null)),
      runIncremental: (snapshotRun) => runIncrementalSnapshot({ run: snapshotRun, channel: context.snapshots, config, registry, control, logger, signal: inner.signal, ensureTopic, connectionConfig: config.connection, sql }),
    })
    try {
      await Promise.race([streaming, snapshots])
    } finally {
      // Whichever ended first, stop the other and wait for it: streaming drains (appends and acknowledges what it
      // holds) before its connection may close.
      inner.abort()
      await Promise.allSettled([streaming, snapshots])
      logger.debug({}, 'streaming and snapshots ended')
      clearInterval(health)
      context.onWarning(null)
    }
  } catch (error) {
    if (signal.aborted) return
    throw toConnectorError(error, 'streaming')
  } finally {
    inner.abort()
    signal.removeEventListener('abort', stopInner)
    await replication?.close().catch(() => undefined)
    await endClient(sql)
  }
}

/** The watchdog: streaming paused too long, or the slot holding too much WAL, is reported instead of hidden. */
function startHealthChecks(context: SourceTaskContext, config: PostgresSourceConfig, control: StreamingControl): NodeJS.Timeout {
  const timer = setInterval(() => {
    const paused = control.pausedSince ? Date.now() - control.pausedSince : 0
    context.metrics.streamingPausedMs = paused
    const wal = context.metrics.retainedWalBytes ?? 0
    if (paused > config.streamingPauseMaxMs) context.onWarning(`streaming has been paused by a blocking snapshot for ${Math.round(paused / 1000)} s (limit ${Math.round(config.streamingPauseMaxMs / 1000)} s)`)
    else if (wal > config.maxRetainedWalBytes) context.onWarning(`replication slot ${config.slotName} retains ${wal} bytes of WAL (limit ${config.maxRetainedWalBytes})`)
    else context.onWarning(null)
  }, 1000)
  timer.unref()
  return timer
}

interface PrepareStartOptions {
  context: SourceTaskContext
  config: PostgresSourceConfig
  sql: pg.Client
  replication: ReplicationConnection
  tables: TableName[]
  readTables(run: SnapshotRun, snapshotName: string | null, lsn: Lsn | null): Promise<SnapshotRun>
}

/**
 * Where streaming starts, after the snapshot phase if one is due. On first start the slot is created with an
 * exported snapshot and the tables are read under it, so streaming starts exactly at the slot's consistent point:
 * nothing missed, nothing doubled. An initial snapshot interrupted by a crash is resumed (at its next chunk) before
 * streaming. A stored offset without its slot means the slot was dropped behind Sluice's back: unless the mode says
 * to snapshot again (`when_needed`, `always`), the task stops with a clear reason rather than silently skipping
 * changes. Returns null when the mode says not to stream (`initial_only`).
 */
async function prepareStart(options: PrepareStartOptions): Promise<Lsn | null> {
  const { context, config, sql, replication, readTables } = options
  const { logger } = context
  const offset = await context.offsets.load()
  const slot = await getSlot(sql, config.slotName)
  const mode = config.snapshotMode
  const resnapshot = mode === 'always' || mode === 'when_needed'
  if (!slot && offset?.lsn && !resnapshot) {
    throw new ConnectorError('slot_missing', `replication slot ${config.slotName} no longer exists, but this source has streamed up to LSN ${offset.lsn}; changes since then cannot be recovered from the slot. Set snapshot.mode to when_needed to snapshot again, or delete and recreate the source.`, { retriable: false })
  }
  const wantsSnapshot = mode !== 'no_data'
  const newRun = () => context.snapshots.create({
    sourceId: context.sourceId, type: 'initial', status: 'pending', paused: false, reason: null,
    tables: options.tables.map((t) => ({ topic: topicName(config.topicPrefix, t.schema, t.table), schema: t.schema, table: t.table, status: 'pending', rowsRead: 0, rowsEstimated: null, cursor: null, startedAt: null, endedAt: null })),
    options: { additionalConditions: [], surrogateKey: null }, startedAt: null, endedAt: null,
  })

  if (!slot) {
    const created = await replication.createSlot(config.slotName, { exportSnapshot: wantsSnapshot })
    logger.info({ slot: config.slotName, consistent_point: created.consistentPoint.toString() }, 'replication slot created')
    await context.offsets.save({ lsn: created.consistentPoint.toString() })
    if (wantsSnapshot) {
      const run = await newRun()
      // The exported snapshot lives as long as the replication connection stays idle: hold it until the read ends.
      const reading = readTables(run, created.snapshotName, created.consistentPoint)
      replication.keepSnapshotUntil(reading)
      await reading
    }
    return mode === 'initial_only' ? null : created.consistentPoint
  }

  const startLsn = offset?.lsn ? BigInt(offset.lsn) : 0n
  const unfinished = (await context.snapshots.active()).find((r) => r.type === 'initial')
  if (unfinished) {
    logger.info({ snapshot_id: unfinished.id }, 'resuming the initial snapshot')
    await readTables(unfinished, null, startLsn)
  } else if (mode === 'always') {
    await readTables(await newRun(), null, startLsn)
  }
  return mode === 'initial_only' ? null : startLsn
}

async function cleanup(context: { sourceId: string; config: Readonly<Record<string, unknown>>; logger: TaskLogger }): Promise<{ warnings: string[] }> {
  const config = parsePostgresConfig(context.config, context.sourceId)
  const warnings: string[] = []
  let sql: pg.Client
  try {
    sql = await connect(config)
  } catch (error) {
    return { warnings: [`could not connect to drop replication slot ${config.slotName} and publication ${config.publicationName}: ${(error as Error).message}. Drop them by hand: SELECT pg_drop_replication_slot('${config.slotName}'); DROP PUBLICATION "${config.publicationName}";`] }
  }
  try {
    try {
      await dropSlot(sql, config.slotName)
    } catch (error) {
      warnings.push(`could not drop replication slot ${config.slotName}: ${(error as Error).message}`)
    }
    if (config.publicationMode !== 'disabled') {
      try {
        await dropPublication(sql, config.publicationName)
      } catch (error) {
        warnings.push(`could not drop publication ${config.publicationName}: ${(error as Error).message}`)
      }
    }
  } finally {
    await endClient(sql)
  }
  for (const warning of warnings) context.logger.warn({ source_id: context.sourceId }, warning)
  return { warnings }
}

async function describe(context: { sourceId: string; config: Readonly<Record<string, unknown>> }): Promise<TableDescription[]> {
  const config = parsePostgresConfig(context.config, context.sourceId)
  const sql = await connect(config)
  try {
    const tables = await listTables(sql, { schemaInclude: config.schemaInclude, tableInclude: config.tableInclude })
    const out: TableDescription[] = []
    for (const name of tables) {
      const shape = await readTableShape(sql, name)
      out.push({
        schema: name.schema,
        table: name.table,
        topic: topicName(config.topicPrefix, name.schema, name.table),
        columns: shape.columns.map((c) => c.name),
        primaryKey: shape.primaryKey,
        rowsEstimated: shape.rowsEstimated,
      })
    }
    return out
  } finally {
    await endClient(sql)
  }
}

export const postgresConnector: SourceConnector = {
  code: 'postgresql',
  run,
  cleanup,
  describe,
  topicPrefix: (sourceId, config) => parsePostgresConfig(config, sourceId).topicPrefix,
}
