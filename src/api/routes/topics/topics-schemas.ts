/** Wire shapes of the Topics tag (Streamkap's snake_case) and the mapping from the domain. */
import { isUtf8 } from 'node:buffer'
import { z } from '@hono/zod-openapi'
import type { TopicDetails, TopicStatistics } from '../../../core/topics/topic-service.js'
import type { TopicWindowMetrics } from '../../../core/topics/topic-metrics.js'
import type { LogRecord, TopicConfig } from '../../../log/topic-log.js'
import type { ByteWriter } from '../../../util/byte-writer.js'
import { isJsonText } from '../../../util/json-text.js'
import { CommaList, PageQuery, QueryBool } from '../../common-schemas.js'

const SNAPSHOT_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const

export const TopicIdParam = z.object({ topic_id: z.string().min(1) })

export const TopicRow = z
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
    max_message_bytes: z.number().int(),
    created_timestamp: z.string(),
  })
  .openapi('TopicRow')

export const TopicDetailsSchema = TopicRow.extend({
  kafka: z.object({
    partitions: z.object({
      count: z.number().int(),
      details: z.array(z.object({ partition: z.number().int(), earliest_offset: z.number().int(), latest_offset: z.number().int(), records: z.number().int(), bytes: z.number().int() })),
    }),
    configs: z.record(z.string(), z.string()),
  }),
  messages_7d: z.number().int(),
  messages_30d: z.number().int(),
  records: z.number().int(),
  bytes: z.number().int(),
  tags: z.array(z.string()),
}).openapi('TopicDetailsWithKafka')

export const TopicCreated = TopicRow.extend({ replication_factor: z.number().int(), warnings: z.array(z.string()) }).openapi('TopicCreated')

export const DetailsQuery = z.object({
  page: PageQuery.page,
  page_size: PageQuery.page_size,
  entity_type: CommaList.optional().openapi({ description: 'Comma list of sources, manual' }),
  entity_id: CommaList.optional(),
  topic_id: CommaList.optional(),
  partial_name: z.string().optional(),
  snapshot: CommaList.pipe(z.array(z.enum(SNAPSHOT_STATUSES))).optional().openapi({ description: "Latest snapshot status of the topic's source" }),
  include_dlq: QueryBool.optional().openapi({ description: 'List dead-letter topics (default true)' }),
})

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/
const TopicName = z
  .string()
  .min(1)
  .max(249)
  .regex(TOPIC_NAME)
  .refine((n) => n !== '.' && n !== '..', "a topic may not be named '.' or '..'")

const Retention = {
  cleanup_policy: z.enum(['delete', 'compact']).optional(),
  retention_ms: z.number().int().min(-1).optional().openapi({ description: '-1 keeps records forever' }),
  retention_bytes: z.number().int().min(-1).optional().openapi({ description: 'Per partition; -1 is unlimited' }),
  max_message_bytes: z.number().int().min(1).optional(),
}

export const CreateTopicBody = z
  .object({
    topic_name: TopicName,
    num_partitions: z.number().int().min(1).max(10_000).default(1),
    replication_factor: z.number().int().min(1).nullable().optional().openapi({ description: 'Accepted for compatibility; the embedded log keeps one copy' }),
    min_insync_replicas: z.number().int().min(1).nullable().optional(),
    custom_configs: z.record(z.string(), z.any()).optional(),
    ...Retention,
  })
  .openapi('CreateTopicRequest')

const UpdateFields = z.object({
  partition_count: z.number().int().min(1).max(10_000).optional(),
  tags: z.array(z.string()).nullable().optional(),
  ...Retention,
})

export const UpdateTopicBody = UpdateFields.extend({ payload: UpdateFields.optional() }).openapi('UpdateTopicRequest')

export type CreateTopicInput = z.infer<typeof CreateTopicBody>
export type UpdateTopicInput = z.infer<typeof UpdateFields>

export function toTopicConfig(input: Partial<Pick<CreateTopicInput, 'cleanup_policy' | 'retention_ms' | 'retention_bytes' | 'max_message_bytes'>>): Partial<TopicConfig> {
  const config: Partial<TopicConfig> = {}
  if (input.cleanup_policy !== undefined) config.cleanupPolicy = input.cleanup_policy
  if (input.retention_ms !== undefined) config.retentionMs = input.retention_ms
  if (input.retention_bytes !== undefined) config.retentionBytes = input.retention_bytes
  if (input.max_message_bytes !== undefined) config.maxMessageBytes = input.max_message_bytes
  return config
}

const JSON_CONVERTER = 'org.apache.kafka.connect.json.JsonConverter'

export function topicView(d: TopicDetails) {
  return {
    id: d.topic.name,
    name: d.topic.name,
    entity: { entity_type: d.entity.entityType, entity_id: d.entity.entityId, name: d.entity.name, connector: d.entity.connector, display_name: d.entity.name },
    prefix: d.prefix,
    serialization: { key_format: 'json', value_format: 'json', key_converter: JSON_CONVERTER, value_converter: JSON_CONVERTER, schema_registry_enabled: false },
    num_partitions: d.topic.partitions,
    partitions: d.partitions.map((p) => ({ partition: p.partition, earliest_offset: p.earliest, latest_offset: p.latest })),
    cleanup_policy: d.topic.cleanupPolicy,
    retention_ms: d.topic.retentionMs,
    retention_bytes: d.topic.retentionBytes,
    max_message_bytes: d.topic.maxMessageBytes,
    created_timestamp: new Date(d.topic.createdAt).toISOString(),
  }
}

export function topicDetailsView(d: TopicDetails, s: TopicStatistics) {
  return {
    ...topicView(d),
    kafka: {
      partitions: {
        count: d.topic.partitions,
        details: d.partitions.map((p) => ({ partition: p.partition, earliest_offset: p.earliest, latest_offset: p.latest, records: s.partitions[p.partition]?.records ?? 0, bytes: s.partitions[p.partition]?.bytes ?? 0 })),
      },
      configs: {
        'cleanup.policy': d.topic.cleanupPolicy,
        'retention.ms': String(d.topic.retentionMs),
        'retention.bytes': String(d.topic.retentionBytes),
        'max.message.bytes': String(d.topic.maxMessageBytes),
      },
    },
    messages_7d: s.messages7d,
    messages_30d: s.messages30d,
    records: s.records,
    bytes: s.bytes,
    tags: [] as string[],
  }
}

export const Message = z
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

/** Values are shown as JSON when they are JSON, else as UTF-8 text. */
export function decodePayload(buffer: Buffer | null): unknown {
  if (buffer === null) return null
  const text = buffer.toString('utf8')
  const first = text.charCodeAt(0)
  // Only JSON texts that can start this way are tried, so plain text skips the exception path.
  const maybeJson = first === 123 || first === 91 || first === 34 || first === 45 || (first >= 48 && first <= 57) || text === 'true' || text === 'false' || text === 'null'
  if (!maybeJson) return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Writes `decodePayload(buffer)` as JSON without building the value: a payload that is JSON (checked by a byte scan,
 * util/json-text.ts, 2–3× cheaper than parsing) is copied as its own bytes, anything else written as a JSON string.
 * A fetch carries thousands of records; this skips parsing, decoding and re-encoding every value.
 */
function writePayloadJson(buffer: Buffer | null, out: ByteWriter): void {
  if (buffer === null) {
    out.range(NULL_JSON)
    return
  }
  const first = buffer[0]
  if ((first === 123 || first === 91) && isUtf8(buffer) && isJsonText(buffer)) out.range(buffer)
  else out.utf8(JSON.stringify(decodePayload(buffer)))
}

const NULL_JSON = Buffer.from('null')

/** Appends the JSON of `messageView(r)` to `out`, built directly (see writePayloadJson). */
export function writeMessageJson(r: LogRecord, out: ByteWriter): void {
  out.utf8('{"topic":' + topicJson(r.topic) + ',"partition":' + r.partition + ',"offset":' + r.offset + ',"timestamp":' +
    r.timestamp + ',"key":')
  writePayloadJson(r.key, out)
  out.utf8(',"value":')
  writePayloadJson(r.value, out)
  out.utf8(',"headers":' + headersJson(r.headers) + '}')
}

let lastTopic = ''
let lastTopicJson = '""'
function topicJson(topic: string): string {
  if (topic !== lastTopic) {
    lastTopic = topic
    lastTopicJson = JSON.stringify(topic)
  }
  return lastTopicJson
}

function headersJson(headers: Record<string, string>): string {
  for (const _ in headers) return JSON.stringify(headers)
  return '{}'
}

export function messageView(r: LogRecord) {
  return { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: decodePayload(r.key), value: decodePayload(r.value), headers: r.headers }
}

export const TableMetricsBody = z
  .object({
    entities: z
      .array(z.object({ id: z.string().optional(), entity_type: z.string().optional(), connector: z.string().optional(), topic_ids: z.array(z.string()).optional(), topic_db_ids: z.array(z.string()).optional() }))
      .optional(),
    topic_ids: z.array(z.string()).optional().openapi({ description: 'Sluice extension: topics to report directly' }),
    timestamp_from: z.number().int().optional().openapi({ description: 'Epoch ms; default: the beginning' }),
    timestamp_to: z.number().int().optional().openapi({ description: 'Epoch ms; default: now' }),
    time_type: z.string().optional(),
    time_interval: z.number().optional(),
    time_unit: z.string().optional(),
  })
  .openapi('TableMetricsRequest')

export const TableMetricsResponse = z
  .object({
    result: z.array(
      z.object({
        topic_id: z.string(),
        messages_in: z.number().int(),
        bytes_in: z.number().int(),
        messages_out: z.number().int().nullable(),
        bytes_out: z.number().int().nullable(),
        lag: z.number().int().nullable(),
        avg_latency_ms: z.number().nullable(),
      }),
    ),
  })
  .openapi('TableMetricsResponse')

export function tableMetricsView(m: TopicWindowMetrics) {
  return { topic_id: m.topicId, messages_in: m.messagesIn, bytes_in: m.bytesIn, messages_out: null, bytes_out: null, lag: m.lag, avg_latency_ms: m.latencyMs }
}
