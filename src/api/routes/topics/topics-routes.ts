/** The Topics tag (first part): topic details per entity, one topic, and browsing its messages. */
import { createRoute, z } from '@hono/zod-openapi'
import type { LogRecord } from '../../../log/topic-log.js'
import type { TopicDetails, TopicService } from '../../../core/topics/topic-service.js'
import { createRouter } from '../../app-env.js'
import { CommaList, NOT_FOUND, PageQuery, QueryBool, STANDARD_ERRORS, jsonResponse, listEnvelope, page } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'

const TAG = ['Topics']
const SECURITY = [{ HTTPBearer: [] }]

const TopicRow = z
  .object({
    id: z.string(),
    name: z.string(),
    entity: z.object({ entity_type: z.string(), entity_id: z.string().nullable(), name: z.string().nullable(), connector: z.string().nullable(), display_name: z.string().nullable() }),
    prefix: z.string().nullable(),
    serialization: z.object({ key_format: z.string(), value_format: z.string(), key_converter: z.string(), value_converter: z.string(), schema_registry_enabled: z.boolean() }),
    num_partitions: z.number().int(),
    partitions: z.array(z.object({ partition: z.number().int(), earliest_offset: z.number().int(), latest_offset: z.number().int() })),
    cleanup_policy: z.string(),
    retention_ms: z.number().int(),
    retention_bytes: z.number().int(),
  })
  .openapi('TopicRow')

const Message = z
  .object({
    topic: z.string(),
    partition: z.number().int(),
    offset: z.number().int(),
    timestamp: z.number().int(),
    key: z.any(),
    value: z.any(),
    headers: z.record(z.string(), z.string()),
  })
  .openapi('TopicMessage')

const TopicIdParam = z.object({ topic_id: z.string().min(1) })

function topicView(d: TopicDetails) {
  return {
    id: d.topic.name,
    name: d.topic.name,
    entity: { entity_type: d.entity.entityType, entity_id: d.entity.entityId, name: d.entity.name, connector: d.entity.connector, display_name: d.entity.name },
    prefix: d.prefix,
    serialization: { key_format: 'json', value_format: 'json', key_converter: 'org.apache.kafka.connect.json.JsonConverter', value_converter: 'org.apache.kafka.connect.json.JsonConverter', schema_registry_enabled: false },
    num_partitions: d.topic.partitions,
    partitions: d.partitions.map((p) => ({ partition: p.partition, earliest_offset: p.earliest, latest_offset: p.latest })),
    cleanup_policy: d.topic.cleanupPolicy,
    retention_ms: d.topic.retentionMs,
    retention_bytes: d.topic.retentionBytes,
  }
}

/** Values are shown as JSON when they are JSON, else as UTF-8 text. */
function decode(buffer: Buffer | null): unknown {
  if (buffer === null) return null
  const text = buffer.toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function messageView(r: LogRecord) {
  return { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: decode(r.key), value: decode(r.value), headers: r.headers }
}

export function createTopicsRoutes(topics: TopicService) {
  const app = createRouter()
  const read = requirePermission('read:topics')

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/details', tags: TAG, summary: 'List all topics', operationId: 'getTopicsDetails', security: SECURITY,
      middleware: [read],
      request: {
        query: z.object({
          page: PageQuery.page,
          page_size: PageQuery.page_size,
          entity_type: CommaList.optional(),
          entity_id: CommaList.optional(),
          topic_id: CommaList.optional(),
          partial_name: z.string().optional(),
          include_dlq: QueryBool.optional(),
        }),
      },
      responses: { 200: jsonResponse(listEnvelope(TopicRow, 'TopicList')), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const all = await topics.list({ entityTypes: q.entity_type, entityIds: q.entity_id, topicIds: q.topic_id, partialName: q.partial_name })
      const start = (q.page - 1) * q.page_size
      return c.json(page(all.slice(start, start + q.page_size).map(topicView), q.page, q.page_size, all.length), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/{topic_id}', tags: TAG, summary: 'Get comprehensive topic information', operationId: 'getTopic',
      security: SECURITY, middleware: [read], request: { params: TopicIdParam },
      responses: { 200: jsonResponse(TopicRow), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => c.json(topicView(await topics.get(c.req.valid('param').topic_id)), 200),
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/{topic_id}/messages', tags: TAG, summary: 'Browse topic messages', operationId: 'getTopicMessages',
      description: 'Records of one partition from an offset (default: the earliest stored), oldest first.',
      security: SECURITY, middleware: [read],
      request: {
        params: TopicIdParam,
        query: z.object({
          partition: z.coerce.number().int().min(0).default(0),
          offset: z.coerce.number().int().min(0).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: { 200: jsonResponse(z.object({ result: z.array(Message), next_offset: z.number().int().nullable() })), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { topic_id } = c.req.valid('param')
      const q = c.req.valid('query')
      const records = await topics.messages(topic_id, q.partition, q.offset, q.limit)
      const last = records.at(-1)
      return c.json({ result: records.map(messageView), next_offset: last ? last.offset + 1 : null }, 200)
    },
  )

  return app
}
