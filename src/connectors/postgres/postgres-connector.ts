/**
 * The `postgresql` source connector: validates the database, makes sure the publication and the replication slot
 * exist, and runs the streaming phase from the stored offset. Wires the parts; the work is in `replication/`,
 * `streaming/` and `types/`.
 */
import pg from 'pg'
import { ConnectorError } from '../connector-error.js'
import type { SourceConnector, SourceTaskContext, TaskLogger } from '../source.js'
import { parsePostgresConfig, type PostgresSourceConfig } from './postgres-config.js'
import type { Lsn } from './replication/lsn.js'
import { checkSource, listTables } from './replication/preflight.js'
import { dropPublication, ensurePublication } from './replication/publication.js'
import { connectReplication } from './replication/replication-connection.js'
import { toConnectorError } from './replication/replication-errors.js'
import { dropSlot, getSlot } from './replication/slot.js'
import { runStreaming } from './streaming/streaming-source.js'
import { loadTypeRegistry } from './types/type-registry.js'

async function connect(config: PostgresSourceConfig, signal?: AbortSignal): Promise<pg.Client> {
  const client = new pg.Client(config.connection)
  // A dropped connection also rejects the query in flight; without a listener the 'error' event would crash.
  client.on('error', () => undefined)
  const abort = () => void client.end().catch(() => undefined)
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
  let replication: Awaited<ReturnType<typeof connectReplication>> | undefined
  try {
    const tables = await resolveTables(sql, config)
    await checkSource(sql, { tables, slotName: config.slotName, publicationName: config.publicationName })
    if (config.publicationMode !== 'disabled') {
      const result = await ensurePublication(sql, config.publicationName, config.publicationMode === 'all_tables' ? 'all' : tables)
      if (result !== 'unchanged') logger.info({ publication: config.publicationName, result }, 'publication ready')
    }
    const registry = await loadTypeRegistry(sql, config.converter)
    replication = await connectReplication(config.connection, { signal })
    const startLsn = await resolveStartLsn(context, config, sql, replication, logger)
    await runStreaming({
      config,
      log: context.log,
      offsets: context.offsets,
      metrics: context.metrics,
      logger,
      signal,
      sql,
      replication,
      registry,
      startLsn,
      reloadRegistry: () => loadTypeRegistry(sql, config.converter),
      onStreaming: context.onRunning,
    })
  } catch (error) {
    if (signal.aborted) return
    throw toConnectorError(error, 'streaming')
  } finally {
    await replication?.close().catch(() => undefined)
    await sql.end().catch(() => undefined)
  }
}

/**
 * Where streaming starts: the stored offset, or — on first start — the point where a new slot is created. A stored
 * offset without its slot means the slot was dropped behind Sluice's back: changes since then are gone from the
 * server, so the task stops with a clear reason rather than silently skipping them.
 */
async function resolveStartLsn(
  context: SourceTaskContext,
  config: PostgresSourceConfig,
  sql: pg.Client,
  replication: Awaited<ReturnType<typeof connectReplication>>,
  logger: TaskLogger,
): Promise<Lsn> {
  const offset = await context.offsets.load()
  const slot = await getSlot(sql, config.slotName)
  if (slot) return offset?.lsn ? BigInt(offset.lsn) : 0n
  if (offset?.lsn) {
    throw new ConnectorError('slot_missing', `replication slot ${config.slotName} no longer exists, but this source has streamed up to LSN ${offset.lsn}; changes since then cannot be recovered from the slot. Delete and recreate the source (or restore the slot) to continue.`, { retriable: false })
  }
  const created = await replication.createSlot(config.slotName, { exportSnapshot: false })
  logger.info({ slot: config.slotName, consistent_point: created.consistentPoint.toString() }, 'replication slot created')
  await context.offsets.save({ lsn: created.consistentPoint.toString() })
  return created.consistentPoint
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
    await sql.end().catch(() => undefined)
  }
  for (const warning of warnings) context.logger.warn({ source_id: context.sourceId }, warning)
  return { warnings }
}

export const postgresConnector: SourceConnector = {
  code: 'postgresql',
  run,
  cleanup,
  topicPrefix: (sourceId, config) => parsePostgresConfig(config, sourceId).topicPrefix,
}
