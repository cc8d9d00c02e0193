/** The Topics tag: topic details per entity, one topic with statistics, manual topic CRUD, and table metrics. */
import { createRoute, z } from '@hono/zod-openapi'
import type { TopicService } from '../../../core/topics/topic-service.js'
import { InvalidInputError } from '../../../core/errors.js'
import { createRouter } from '../../app-env.js'
import { CONFLICT, NOT_FOUND, STANDARD_ERRORS, jsonBody, jsonResponse, listEnvelope, page } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'
import { createTopicMessagesRoutes } from './topic-messages-routes.js'
import {
  CreateTopicBody,
  DetailsQuery,
  TableMetricsBody,
  TableMetricsResponse,
  TopicCreated,
  TopicDetailsSchema,
  TopicIdParam,
  TopicRow,
  UpdateTopicBody,
  tableMetricsView,
  toTopicConfig,
  topicDetailsView,
  topicView,
} from './topics-schemas.js'

const TAG = ['Topics']
const SECURITY = [{ HTTPBearer: [] }]

export function createTopicsRoutes(topics: TopicService) {
  const app = createRouter()
  const read = requirePermission('read:topics')
  const write = requirePermission('write:topics')

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/details', tags: TAG, summary: 'List all topics', operationId: 'getTopicsDetails', security: SECURITY,
      middleware: [read], request: { query: DetailsQuery },
      responses: { 200: jsonResponse(listEnvelope(TopicRow, 'TopicList')), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const all = await topics.list({
        entityTypes: q.entity_type, entityIds: q.entity_id, topicIds: q.topic_id, partialName: q.partial_name,
        snapshotStatuses: q.snapshot, includeDlq: q.include_dlq,
      })
      const start = (q.page - 1) * q.page_size
      return c.json(page(all.slice(start, start + q.page_size).map(topicView), q.page, q.page_size, all.length), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/topics', tags: TAG, summary: 'Create a new Kafka topic', operationId: 'createTopic', security: SECURITY,
      description: 'Creates a manual topic. `cleanup_policy` `compact` keeps at least the latest record per key; `delete` applies `retention_ms` / `retention_bytes`.',
      middleware: [write], request: { body: jsonBody(CreateTopicBody) },
      responses: { 200: jsonResponse(TopicCreated), ...STANDARD_ERRORS, ...CONFLICT },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const warnings: string[] = []
      if (body.replication_factor != null && body.replication_factor > 1) warnings.push('replication_factor is ignored: the embedded log keeps one copy')
      if (body.min_insync_replicas != null) warnings.push('min_insync_replicas is ignored: the embedded log keeps one copy')
      for (const key of Object.keys(body.custom_configs ?? {})) warnings.push(`custom config '${key}' is not supported and was ignored`)
      const created = await topics.create(body.topic_name, { partitions: body.num_partitions, ...toTopicConfig(body) })
      return c.json({ ...topicView(created), replication_factor: 1, warnings }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/topics/table_metrics', tags: TAG, summary: 'Get Table Metrics', operationId: 'getTopicTableMetrics', security: SECURITY,
      description: 'Per topic: records and bytes in over the time window, and the lag (records) and latency (age of the oldest uncommitted record, ms) of the slowest consumer group.',
      middleware: [read], request: { body: jsonBody(TableMetricsBody) },
      responses: { 200: jsonResponse(TableMetricsResponse), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const named = [...(body.topic_ids ?? []), ...(body.entities ?? []).flatMap((e) => [...(e.topic_ids ?? []), ...(e.topic_db_ids ?? [])])]
      const wanted = body.topic_ids === undefined && body.entities === undefined ? null : [...new Set(named)]
      const metrics = await topics.tableMetrics(wanted, { from: body.timestamp_from, to: body.timestamp_to })
      return c.json({ result: metrics.map(tableMetricsView) }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/{topic_id}', tags: TAG, summary: 'Get comprehensive topic information', operationId: 'getTopic',
      security: SECURITY, middleware: [read], request: { params: TopicIdParam },
      responses: { 200: jsonResponse(TopicDetailsSchema), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { topic_id } = c.req.valid('param')
      const details = await topics.get(topic_id)
      return c.json(topicDetailsView(details, await topics.statistics(topic_id)), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'put', path: '/topics/{topic_id}', tags: TAG, summary: 'Update Topic', operationId: 'updateTopic', security: SECURITY,
      description: 'Streamkap sends `{"payload": {"partition_count": n, "tags": []}}`; the same fields are accepted at the top level. The partition count may only grow.',
      middleware: [write], request: { params: TopicIdParam, body: jsonBody(UpdateTopicBody) },
      responses: { 200: jsonResponse(TopicRow), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { topic_id } = c.req.valid('param')
      const { payload, ...top } = c.req.valid('json')
      const fields = { ...top, ...payload }
      const patch = { ...toTopicConfig(fields), ...(fields.partition_count !== undefined ? { partitions: fields.partition_count } : {}) }
      if (Object.keys(patch).length === 0 && fields.tags === undefined) {
        throw InvalidInputError.of(['body', 'payload'], 'give at least one of partition_count, tags, cleanup_policy, retention_ms, retention_bytes, max_message_bytes', c.req.valid('json'))
      }
      return c.json(topicView(Object.keys(patch).length > 0 ? await topics.update(topic_id, patch) : await topics.get(topic_id)), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/topics/{topic_id}', tags: TAG, summary: 'Delete Topic', operationId: 'deleteTopic', security: SECURITY,
      description: 'Refused (409) while a source writes to the topic or a pipeline reads it.',
      middleware: [write], request: { params: TopicIdParam },
      responses: { 200: jsonResponse(z.object({ id: z.string(), deleted: z.boolean() })), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => {
      const { topic_id } = c.req.valid('param')
      await topics.delete(topic_id)
      return c.json({ id: topic_id, deleted: true }, 200)
    },
  )

  app.route('/', createTopicMessagesRoutes(topics))
  return app
}
