/** Wire shapes of the Pipelines tag (Streamkap's snake_case), and the mapping from the domain entity. */
import { z } from '@hono/zod-openapi'
import type { Pipeline } from '../../../core/pipelines/pipeline.js'
import { CommaList, PageQuery, listEnvelope } from '../../common-schemas.js'

const EntityRef = z.object({
  id: z.string().nullable(),
  name: z.string().nullable(),
  connector: z.string().nullable(),
  connector_status: z.string().nullable(),
})

export const PipelineSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    sub_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
    snapshot_new_tables: z.boolean(),
    topic_ids: z.array(z.string()),
    topics: z.array(z.string()),
    source: EntityRef.extend({ topics: z.array(z.string()) }),
    destination: EntityRef,
    transforms: z.array(z.record(z.string(), z.any())),
    tags: z.array(z.string()),
    periodic_audit: z.record(z.string(), z.any()).nullable(),
    topic_auto_discovery_transforms: z.array(z.record(z.string(), z.any())),
    created_timestamp: z.string(),
    consumer_group: z.string().openapi({ description: 'Sluice extension: the consumer group the pipeline reads through' }),
  })
  .openapi('Pipeline')

export const PipelineList = listEnvelope(PipelineSchema, 'PipelineList')

export const PipelineBody = z
  .object({
    name: z.string().min(1).max(255),
    source: z.object({
      id: z.string().min(1),
      name: z.string().nullish(),
      connector: z.string().nullish(),
      topics: z.array(z.string().min(1)).nullish().openapi({ description: 'Topics to deliver; empty or absent = every topic of the source' }),
    }),
    destination: z.object({ id: z.string().min(1), name: z.string().nullish(), connector: z.string().nullish() }),
    transforms: z.array(z.record(z.string(), z.any())).nullish(),
    topic_auto_discovery_transforms: z.array(z.record(z.string(), z.any())).nullish(),
    snapshot_new_tables: z.boolean().default(false),
    tags: z.array(z.string()).nullish(),
    created_from: z.enum(['terraform', 'web', 'api']).default('api'),
  })
  .openapi('CreatePipelineRequest')

export const PipelineIdParam = z.object({ pipeline_id: z.string().min(1).openapi({ param: { name: 'pipeline_id', in: 'path' } }) })

export const PipelineListQuery = z.object({
  ...PageQuery,
  sort: z.enum(['name', 'created_at', 'created_timestamp']).default('created_at'),
  id: CommaList.optional(),
  partial_name: z.string().optional(),
  source_id: CommaList.optional(),
  destination_id: CommaList.optional(),
  tag_ids: CommaList.optional(),
})

export const PipelineMetricsQuery = z.object({
  time_type: z.enum(['latest', 'timeseries', 'timesummary']).default('latest'),
  time_interval: z.coerce.number().int().min(1).optional(),
  time_unit: z.enum(['minute', 'hour', 'day', 'week', 'month']).optional(),
  timestamp_from: z.string().optional(),
  timestamp_to: z.string().optional(),
})

export const PipelineMetrics = z
  .object({
    data: z.object({ latency: z.number().nullable(), recordsLag: z.number().int(), status: z.string() }),
    metadata: z.record(z.string(), z.object({ name: z.string(), unit: z.string() })),
  })
  .openapi('PipelineMetrics')

export type EntityRefView = z.infer<typeof EntityRef>

export function pipelineView(
  pipeline: Pipeline,
  refs: { source: EntityRefView; destination: EntityRefView; topics: string[]; group: string },
) {
  return {
    id: pipeline.id,
    name: pipeline.name,
    sub_id: null,
    tenant_id: null,
    snapshot_new_tables: pipeline.snapshotNewTables,
    topic_ids: refs.topics,
    topics: refs.topics,
    source: { ...refs.source, topics: pipeline.topics ?? [] },
    destination: refs.destination,
    transforms: pipeline.transforms as Array<Record<string, string>>,
    tags: pipeline.tags,
    periodic_audit: null as Record<string, string> | null,
    topic_auto_discovery_transforms: [] as Array<Record<string, string>>,
    created_timestamp: pipeline.createdAt,
    consumer_group: refs.group,
  }
}
