/** Wire shapes of the snapshot endpoints (Streamkap's body models; Sluice's snapshot record). */
import { z } from '@hono/zod-openapi'
import type { SnapshotRun } from '../../../connectors/snapshot-run.js'
import { BulkSelection } from '../../bulk.js'

const TopicNames = z.array(z.string().min(1)).nullish().openapi({ description: 'Topics (or schema.table names) to snapshot; null means all of the source' })

export const ExecuteSnapshotBody = z
  .looseObject({
    source_id: z.string().min(1),
    topic_names: TopicNames,
    additional_conditions: z.array(z.object({ data_collection: z.string().min(1), filter: z.string().min(1) })).nullish(),
    snapshot_type: z.enum(['incremental', 'blocking']).default('incremental'),
    surrogate_key: z.string().min(1).nullish(),
  })
  .openapi('ExecuteSnapshotBody')

export const ExecuteBlockingSnapshotBody = z
  .looseObject({ source_id: z.string().min(1), topic_names: TopicNames })
  .openapi('ExecuteBlockingSnapshotBody', {
    description:
      'Execute Blocking Snapshot Body. Blocking snapshots pause streaming during the snapshot and read tables under one consistent snapshot; useful for keyless tables, large tables, and tables added while the connector runs. additional_conditions filters are not supported.',
  })

export const LegacySnapshotBody = z
  .looseObject({
    source_id: z.string().min(1),
    topic_names: TopicNames,
    additional_conditions: z.array(z.object({ data_collection: z.string(), filter: z.string() })).nullish(),
    surrogate_key: z.string().nullish(),
  })
  .openapi('ExecuteSnapshotLegacyBody')

export const SourceIdBody = z.looseObject({ source_id: z.string().min(1) }).openapi('SnapshotSourceBody')

const TableProgress = z.object({
  topic: z.string(),
  schema: z.string(),
  table: z.string(),
  status: z.string(),
  rows_read: z.number().int(),
  rows_estimated: z.number().int().nullable(),
  percent_complete: z.number().nullable(),
  start_timestamp: z.string().nullable(),
  end_timestamp: z.string().nullable(),
})

export const SnapshotSchema = z
  .object({
    id: z.string(),
    source_id: z.string(),
    snapshot_type: z.string(),
    status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']),
    paused: z.boolean(),
    reason: z.string().nullable(),
    tables: z.array(TableProgress),
    total_table_count: z.number().int(),
    remaining_table_count: z.number().int(),
    rows_read: z.number().int(),
    percent_complete: z.number().nullable(),
    eta_ms: z.number().int().nullable(),
    created_timestamp: z.string(),
    start_timestamp: z.string().nullable(),
    end_timestamp: z.string().nullable(),
  })
  .openapi('Snapshot')

export const StopBlockingResponse = z
  .object({ source_id: z.string(), snapshot: SnapshotSchema, connector_status: z.string(), message: z.string() })
  .openapi('StopBlockingSnapshotResponse')

export const BulkSourcesBody = BulkSelection.extend({
  snapshot_type: z.enum(['incremental', 'blocking']).default('incremental'),
}).openapi('BulkSnapshotSourcesBody')

export const BulkTopicsBody = z
  .looseObject({ topic_ids: z.array(z.string().min(1)).min(1).max(500), snapshot_type: z.enum(['incremental', 'blocking']).default('incremental') })
  .openapi('BulkSnapshotTopicsBody')

function percent(read: number, estimated: number | null): number | null {
  if (!estimated || estimated <= 0) return null
  return Math.min(100, Math.round((read / estimated) * 1000) / 10)
}

export function snapshotView(run: SnapshotRun, now = Date.now()) {
  const done = (s: string) => s === 'completed' || s === 'cancelled' || s === 'failed'
  const rowsRead = run.tables.reduce((n, t) => n + t.rowsRead, 0)
  const estimated = run.tables.reduce((n, t) => n + (t.rowsEstimated ?? 0), 0)
  const pct = run.status === 'completed' ? 100 : percent(rowsRead, estimated)
  const elapsed = run.startedAt ? now - Date.parse(run.startedAt) : 0
  const eta = run.status === 'running' && pct && pct > 0 && pct < 100 ? Math.round((elapsed * (100 - pct)) / pct) : null
  return {
    id: run.id,
    source_id: run.sourceId,
    snapshot_type: run.type,
    status: run.status,
    paused: run.paused,
    reason: run.reason,
    tables: run.tables.map((t) => ({
      topic: t.topic,
      schema: t.schema,
      table: t.table,
      status: t.status,
      rows_read: t.rowsRead,
      rows_estimated: t.rowsEstimated,
      percent_complete: t.status === 'completed' ? 100 : percent(t.rowsRead, t.rowsEstimated),
      start_timestamp: t.startedAt,
      end_timestamp: t.endedAt,
    })),
    total_table_count: run.tables.length,
    remaining_table_count: run.tables.filter((t) => !done(t.status)).length,
    rows_read: rowsRead,
    percent_complete: pct,
    eta_ms: eta,
    created_timestamp: run.createdAt,
    start_timestamp: run.startedAt,
    end_timestamp: run.endedAt,
  }
}
