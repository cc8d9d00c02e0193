/** Source lifecycle actions (pause, resume, restart, stop), one source or in bulk, and metrics — Streamkap's shapes. */
import { createRoute, z } from '@hono/zod-openapi'
import type { SnapshotService } from '../../../core/snapshots/snapshot-service.js'
import type { SourceService } from '../../../core/sources/source-service.js'
import type { Supervisor } from '../../../runtime/supervisor.js'
import { createRouter } from '../../app-env.js'
import { type PipelineLinks, sourceLinks } from '../../bulk.js'
import { NOT_FOUND, STANDARD_ERRORS, jsonResponse } from '../../common-schemas.js'
import { ACTIONS, type Action, desiredStateFor, registerBulkActions } from '../../lifecycle.js'
import { requirePermission } from '../../middleware/auth.js'
import { SourceIdParam } from './sources-schemas.js'

const TAG = ['Sources']
const SECURITY = [{ HTTPBearer: [] }]

const ActionParams = SourceIdParam.extend({ action: z.enum(ACTIONS) })
const ACTION_DESCRIPTION = 'pause: stop reading, keep the slot. resume: continue from the stored offset. restart: stop and start the task. stop: stop the connector.'


const ActionResult = z
  .object({ id: z.string(), action: z.string(), desired_state: z.string(), connector_status: z.string(), task_statuses: z.record(z.string(), z.any()) })
  .openapi('SourceActionResult')

const MetricsQuery = z.object({
  time_type: z.enum(['latest', 'timeseries', 'timesummary']).default('latest'),
  time_interval: z.coerce.number().int().min(1).optional(),
  time_unit: z.enum(['minute', 'hour', 'day', 'week', 'month']).optional(),
  timestamp_from: z.string().optional(),
  timestamp_to: z.string().optional(),
})

const SourceMetricsResponse = z
  .object({ data: z.record(z.string(), z.any()), metadata: z.record(z.string(), z.object({ name: z.string(), unit: z.string() })) })
  .openapi('SourceMetrics')

const METRIC_NAMES: Record<string, [string, string]> = {
  StreamingConnected: ['Streaming Connected', 'boolean'],
  StreamingMilliSecondsBehindSource: ['Milliseconds Behind Source', 'milliseconds'],
  StreamingMilliSecondsSinceLastEvent: ['Milliseconds Since Last Event', 'milliseconds'],
  StreamingTotalNumberOfCreateEventsSeen: ['Create Events', 'count'],
  StreamingTotalNumberOfUpdateEventsSeen: ['Update Events', 'count'],
  StreamingTotalNumberOfDeleteEventsSeen: ['Delete Events', 'count'],
  StreamingTotalNumberOfTruncateEventsSeen: ['Truncate Events', 'count'],
  StreamingLastEvent: ['Last Event', 'event'],
  recordSendTotal: ['Records Sent', 'count'],
  byteTotal: ['Bytes Sent', 'bytes'],
  sourceRecordWriteTotal: ['Records Written', 'count'],
  SlotRetainedWalBytes: ['Replication Slot Retained WAL', 'bytes'],
  SnapshotRunning: ['Snapshot Running', 'boolean'],
  SnapshotCompleted: ['Snapshot Completed', 'boolean'],
  SnapshotTotalNumberOfEventsSeen: ['Snapshot Events', 'count'],
  StreamingPausedMilliSeconds: ['Streaming Paused By Snapshot', 'milliseconds'],
  state: ['State', 'state'],
  streamingState: ['Streaming State', 'state'],
}

export function createSourceLifecycleRoutes(deps: { sources: SourceService; supervisor: Supervisor; snapshots: SnapshotService; pipelines?: PipelineLinks }) {
  const app = createRouter()

  async function apply(id: string, action: Action) {
    const current = await deps.sources.get(id)
    if (action === 'restart') await deps.supervisor.restart({ ...current, desiredState: 'Active' })
    const source = await deps.sources.setDesiredState(id, desiredStateFor(action))
    return { id, action, desired_state: source.desiredState, connector_status: source.connectorStatus, task_statuses: source.taskStatuses }
  }

  app.openapi(
    createRoute({
      method: 'post', path: '/sources/{source_id}/actions/{action}', tags: TAG, summary: 'Source Action', operationId: 'sourceAction',
      description: ACTION_DESCRIPTION,
      security: SECURITY, middleware: [requirePermission('write:sources')], request: { params: ActionParams },
      responses: { 200: jsonResponse(ActionResult), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { source_id: id, action } = c.req.valid('param')
      return c.json(await apply(id, action), 200)
    },
  )

  registerBulkActions(app, {
    noun: 'Source', tags: TAG, security: SECURITY, middleware: requirePermission('write:sources'),
    description: `${ACTION_DESCRIPTION} Applied to each selected source (\`ids\`, or \`select_all\`; \`filters.destination_id\` keeps those with a pipeline to it); an unknown one fails alone.`,
    all: async () => (await deps.sources.all()).map((s) => s.id),
    links: sourceLinks(deps.pipelines ?? (async () => [])),
    apply,
  })

  app.openapi(
    createRoute({
      method: 'get', path: '/sources/{source_id}/metrics', tags: TAG, summary: 'Get Metrics For Source', operationId: 'getMetricsForSource',
      description: 'Only `time_type=latest` is kept by Sluice; the other time types answer with the latest values.',
      security: SECURITY, middleware: [requirePermission('read:source_metrics')], request: { params: SourceIdParam, query: MetricsQuery },
      responses: { 200: jsonResponse(SourceMetricsResponse), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const source = await deps.sources.get(c.req.valid('param').source_id)
      const m = deps.supervisor.metrics(source.id)
      const now = Date.now()
      const history = await deps.snapshots.history(source.id)
      const latest = history[0]
      const data: Record<string, unknown> = {
        StreamingConnected: m?.streamingConnected ? 1 : 0,
        StreamingMilliSecondsBehindSource: m?.millisBehindSource ?? null,
        StreamingMilliSecondsSinceLastEvent: m?.lastEventAtMs ? now - m.lastEventAtMs : null,
        StreamingTotalNumberOfCreateEventsSeen: m?.createEvents ?? 0,
        StreamingTotalNumberOfUpdateEventsSeen: m?.updateEvents ?? 0,
        StreamingTotalNumberOfDeleteEventsSeen: m?.deleteEvents ?? 0,
        StreamingTotalNumberOfTruncateEventsSeen: m?.truncateEvents ?? 0,
        StreamingLastEvent: m?.lastEvent ?? null,
        recordSendTotal: m?.recordsSent ?? 0,
        byteTotal: m?.bytesSent ?? 0,
        sourceRecordWriteTotal: m?.recordsSent ?? 0,
        SlotRetainedWalBytes: m?.retainedWalBytes ?? null,
        SnapshotRunning: latest?.status === 'running' ? 1 : 0,
        SnapshotCompleted: latest?.status === 'completed' ? 1 : 0,
        SnapshotTotalNumberOfEventsSeen: m?.snapshotEvents ?? 0,
        SnapshotMilliSecondsSinceLastEvent: m?.lastEventAtMs ? now - m.lastEventAtMs : null,
        StreamingPausedMilliSeconds: m?.streamingPausedMs ?? 0,
        snapshotStatus: latest ? latest.tables.map((t) => ({ status: t.status, topic_id: t.topic, submit_timestamp: latest.createdAt })) : [],
        snapshotState: latest?.status ?? null,
        state: m?.streamingConnected ? 'Streaming' : source.connectorStatus,
        streamingState: m?.streamingConnected ? 'connected' : 'disconnected',
        connector_status: source.connectorStatus,
      }
      const metadata = Object.fromEntries(Object.entries(METRIC_NAMES).map(([key, [name, unit]]) => [key, { name, unit }]))
      return c.json({ data, metadata }, 200)
    },
  )

  return app
}
