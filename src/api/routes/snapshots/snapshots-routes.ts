/**
 * Snapshot endpoints of the Sources and Topics tags: execute (blocking or incremental), stop a blocking snapshot
 * (the seed), stop/pause/resume an incremental one, cancel whatever runs, bulk variants, and per-source history.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { SnapshotService } from '../../../core/snapshots/snapshot-service.js'
import type { SourceService } from '../../../core/sources/source-service.js'
import type { TopicService } from '../../../core/topics/topic-service.js'
import { createRouter } from '../../app-env.js'
import { BulkResult, type BulkItem, attempt, bulkResult, selectIds } from '../../bulk.js'
import { CONFLICT, NOT_FOUND, STANDARD_ERRORS, jsonBody, jsonResponse } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'
import { SourceIdParam } from '../sources/sources-schemas.js'
import {
  BulkSourcesBody,
  BulkTopicsBody,
  ExecuteBlockingSnapshotBody,
  ExecuteSnapshotBody,
  LegacySnapshotBody,
  SnapshotSchema,
  SourceIdBody,
  StopBlockingResponse,
  snapshotView,
} from './snapshots-schemas.js'

const SECURITY = [{ HTTPBearer: [] }]
const SOURCES = ['Sources']

interface Deps {
  snapshots: SnapshotService
  sources: SourceService
  topics: TopicService
}

export function createSnapshotsRoutes(deps: Deps) {
  const app = createRouter()
  const execute = requirePermission('execute:snapshots')
  const post = (path: string, operationId: string, summary: string, description: string, body: z.ZodType, response: z.ZodType, extra = {}) =>
    createRoute({
      method: 'post', path, tags: SOURCES, summary, description, operationId, security: SECURITY, middleware: [execute],
      request: { body: jsonBody(body) },
      responses: { 200: jsonResponse(response), ...STANDARD_ERRORS, ...NOT_FOUND, ...extra },
    })

  app.openapi(
    post('/sources/snapshot', 'executeSnapshot', 'Execute Snapshot', 'Start an incremental (default) or blocking snapshot of some or all of the source\'s tables. 409 when one is already pending or running.', ExecuteSnapshotBody, SnapshotSchema, CONFLICT),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof ExecuteSnapshotBody>
      const run = await deps.snapshots.execute({
        sourceId: body.source_id,
        snapshotType: body.snapshot_type,
        topicNames: body.topic_names ?? null,
        additionalConditions: body.additional_conditions ?? null,
        surrogateKey: body.surrogate_key ?? null,
      })
      return c.json(snapshotView(run), 200)
    },
  )

  app.openapi(
    post('/sources/execute_blocking_snapshot', 'executeBlockingSnapshot', 'Execute Blocking Snapshot', 'Legacy form of POST /sources/snapshot with snapshot_type "blocking".', ExecuteBlockingSnapshotBody, SnapshotSchema, CONFLICT),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof ExecuteBlockingSnapshotBody>
      const run = await deps.snapshots.execute({ sourceId: body.source_id, snapshotType: 'blocking', topicNames: body.topic_names ?? null, additionalConditions: null, surrogateKey: null })
      return c.json(snapshotView(run), 200)
    },
  )

  app.openapi(
    post(
      '/sources/stop_blocking_snapshot',
      'stopBlockingSnapshot',
      'Stop Blocking Snapshot',
      'Stop a blocking snapshot for the specified source.\n\nThis endpoint stops an in-progress blocking snapshot by restarting the connector.\nThe snapshot will be marked as cancelled and streaming will resume. With topic_names, only those tables are cancelled and the snapshot carries on with the others after the restart.',
      ExecuteBlockingSnapshotBody,
      StopBlockingResponse,
      CONFLICT,
    ),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof ExecuteBlockingSnapshotBody>
      const { snapshot, connectorStatus } = await deps.snapshots.stopBlocking(body.source_id, body.topic_names ?? null)
      const message = snapshot.status === 'cancelled' ? 'Blocking snapshot cancelled; the connector was restarted and streaming resumed' : 'Tables cancelled; the connector was restarted and the blocking snapshot continues with the remaining tables'
      return c.json({ source_id: body.source_id, snapshot: snapshotView(snapshot), connector_status: connectorStatus, message }, 200)
    },
  )

  app.openapi(
    post('/sources/cancel_snapshot', 'cancelSnapshot', 'Cancel Snapshot', 'Stops whatever snapshot runs: a blocking one by restarting the connector, an incremental one keeping its progress. 404 when none runs.', LegacySnapshotBody, SnapshotSchema),
    async (c) => c.json(snapshotView(await deps.snapshots.cancel((c.req.valid('json') as { source_id: string }).source_id)), 200),
  )

  app.openapi(
    post('/sources/stop_incremental_snapshot', 'stopIncrementalSnapshot', 'Stop Incremental Snapshot', 'Stops the incremental snapshot (or only the named tables); progress is kept.', LegacySnapshotBody, SnapshotSchema, CONFLICT),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof LegacySnapshotBody>
      return c.json(snapshotView(await deps.snapshots.stopIncremental(body.source_id, body.topic_names ?? null)), 200)
    },
  )

  for (const [path, operationId, paused] of [
    ['/sources/pause_incremental_snapshot', 'pauseIncrementalSnapshot', true],
    ['/sources/resume_incremental_snapshot', 'resumeIncrementalSnapshot', false],
  ] as const) {
    app.openapi(
      post(path, operationId, paused ? 'Pause Incremental Snapshot' : 'Resume Incremental Snapshot', 'Sluice extension: no chunks are read while paused; streaming goes on.', SourceIdBody, SnapshotSchema, CONFLICT),
      async (c) => c.json(snapshotView(await deps.snapshots.setPaused((c.req.valid('json') as { source_id: string }).source_id, paused)), 200),
    )
  }

  app.openapi(
    createRoute({
      method: 'get', path: '/sources/{source_id}/snapshots', tags: SOURCES, summary: 'Snapshot History', operationId: 'getSourceSnapshots',
      description: 'Sluice extension: every snapshot run of the source, newest first.', security: SECURITY,
      middleware: [requirePermission('read:sources')], request: { params: SourceIdParam },
      responses: { 200: jsonResponse(z.object({ result: z.array(SnapshotSchema) })), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => c.json({ result: (await deps.snapshots.history(c.req.valid('param').source_id)).map((r) => snapshotView(r)) }, 200),
  )

  const bulkSourceIds = (body: z.infer<typeof BulkSourcesBody>) => selectIds(body, async () => (await deps.sources.all()).map((s) => s.id))

  app.openapi(
    post('/sources/bulk/snapshot', 'bulkSnapshotSources', 'Bulk Execute Snapshot Sources', 'Starts a snapshot on each source; per-source failures (for example 409, one already running) do not stop the others.', BulkSourcesBody, BulkResult),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof BulkSourcesBody>
      const results: BulkItem[] = []
      for (const id of await bulkSourceIds(body)) {
        results.push(await attempt(id, async () => snapshotView(await deps.snapshots.execute({ sourceId: id, snapshotType: body.snapshot_type, topicNames: null, additionalConditions: null, surrogateKey: null })), 'Snapshot started'))
      }
      return c.json(bulkResult(results), 200)
    },
  )

  app.openapi(
    post('/sources/bulk/stop-snapshot', 'bulkStopSnapshotSources', 'Bulk Stop Snapshot Sources', 'Stops the running snapshot of each source, detecting its type.', BulkSourcesBody, BulkResult),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof BulkSourcesBody>
      const results: BulkItem[] = []
      for (const id of await bulkSourceIds(body)) results.push(await attempt(id, async () => snapshotView(await deps.snapshots.cancel(id)), 'Snapshot stopped'))
      return c.json(bulkResult(results), 200)
    },
  )

  /** Topic ids → their sources; topics not produced by a source are reported as failures. */
  async function bySource(topicIds: string[], results: BulkItem[]): Promise<Map<string, string[]>> {
    const all = await deps.topics.list({ topicIds })
    const grouped = new Map<string, string[]>()
    for (const id of topicIds) {
      const details = all.find((d) => d.topic.name === id)
      if (!details) results.push({ id, success: false, message: 'Topic not found' })
      else if (details.entity.entityType !== 'sources' || !details.entity.entityId) results.push({ id, success: false, message: 'Only topics produced by a source can be snapshotted' })
      else grouped.set(details.entity.entityId, [...(grouped.get(details.entity.entityId) ?? []), id])
    }
    return grouped
  }

  app.openapi(
    post('/topics/bulk/snapshot', 'bulkSnapshotTopics', 'Bulk Snapshot Topics', 'Snapshots the given topics, one snapshot per source.', BulkTopicsBody, BulkResult),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof BulkTopicsBody>
      const results: BulkItem[] = []
      for (const [sourceId, topicNames] of await bySource(body.topic_ids, results)) {
        results.push(await attempt(sourceId, async () => snapshotView(await deps.snapshots.execute({ sourceId, snapshotType: body.snapshot_type, topicNames, additionalConditions: null, surrogateKey: null })), `Snapshot started for ${topicNames.length} topic(s)`))
      }
      return c.json(bulkResult(results), 200)
    },
  )

  app.openapi(
    post('/topics/bulk/stop-snapshot', 'bulkStopSnapshotTopics', 'Bulk Stop Snapshot Topics', "Stops the snapshot of each topic's source (the whole source's snapshot).", BulkTopicsBody.omit({ snapshot_type: true }), BulkResult),
    async (c) => {
      const body = c.req.valid('json') as { topic_ids: string[] }
      const results: BulkItem[] = []
      for (const sourceId of (await bySource(body.topic_ids, results)).keys()) results.push(await attempt(sourceId, async () => snapshotView(await deps.snapshots.cancel(sourceId)), 'Snapshot stopped'))
      return c.json(bulkResult(results), 200)
    },
  )

  return app
}
