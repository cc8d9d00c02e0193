/** The Pipelines tag: list, create, read, update, delete, metrics. */
import { createRoute } from '@hono/zod-openapi'
import type { z } from '@hono/zod-openapi'
import type { Destination } from '../../../core/destinations/destination.js'
import { type Pipeline, pipelineGroup } from '../../../core/pipelines/pipeline.js'
import type { PipelineInput, PipelineService } from '../../../core/pipelines/pipeline-service.js'
import type { Source } from '../../../core/sources/source.js'
import { createRouter } from '../../app-env.js'
import { CONFLICT, NOT_FOUND, STANDARD_ERRORS, jsonBody, jsonResponse, page } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'
import { EntityQuery } from '../sources/sources-schemas.js'
import {
  type EntityRefView,
  PipelineBody,
  PipelineIdParam,
  PipelineList,
  PipelineListQuery,
  PipelineMetrics,
  PipelineMetricsQuery,
  PipelineSchema,
  pipelineView,
} from './pipelines-schemas.js'

const TAG = ['Pipelines']
const SECURITY = [{ HTTPBearer: [] }]

export interface PipelinesRouteDeps {
  pipelines: PipelineService
  findSource(id: string): Promise<Source | undefined>
  findDestination(id: string): Promise<Destination | undefined>
  /** The topics the pipeline delivers now (its chosen list, or every topic of its source). */
  topicsOf(pipeline: Pipeline): Promise<string[]>
}

function ref(id: string, entity: Source | Destination | undefined): EntityRefView {
  return { id, name: entity?.name ?? null, connector: entity?.connector ?? null, connector_status: entity?.connectorStatus ?? null }
}

function input(body: z.infer<typeof PipelineBody>): PipelineInput {
  return {
    name: body.name,
    sourceId: body.source.id,
    destinationId: body.destination.id,
    topics: body.source.topics ?? null,
    snapshotNewTables: body.snapshot_new_tables,
    transforms: body.transforms ?? [],
    tags: body.tags,
    createdFrom: body.created_from,
  }
}

export function createPipelinesRoutes(deps: PipelinesRouteDeps) {
  const app = createRouter()

  async function view(pipeline: Pipeline) {
    return pipelineView(pipeline, {
      source: ref(pipeline.sourceId, await deps.findSource(pipeline.sourceId)),
      destination: ref(pipeline.destinationId, await deps.findDestination(pipeline.destinationId)),
      topics: await deps.topicsOf(pipeline),
      group: pipelineGroup(pipeline.id),
    })
  }

  const read = requirePermission('read:pipelines')
  const write = requirePermission('write:pipelines')

  app.openapi(
    createRoute({
      method: 'get', path: '/pipelines', tags: TAG, summary: 'Get Pipelines', operationId: 'getPipelines', security: SECURITY,
      middleware: [read], request: { query: PipelineListQuery },
      responses: { 200: jsonResponse(PipelineList), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const { pipelines, total } = await deps.pipelines.list({
        ids: q.id,
        partialName: q.partial_name,
        sourceIds: q.source_id,
        destinationIds: q.destination_id,
        sort: q.sort === 'created_timestamp' ? 'created_at' : q.sort,
        sortDir: q.sort_dir,
        page: q.page,
        pageSize: q.page_size,
      })
      return c.json(page(await Promise.all(pipelines.map(view)), q.page, q.page_size, total), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/pipelines', tags: TAG, summary: 'Create New Pipeline', operationId: 'createPipeline',
      description: 'Delivers the source\'s topics (all, or `source.topics`) to the destination through a consumer group of its own, from the earliest stored offset.',
      security: SECURITY, middleware: [write], request: { query: EntityQuery, body: jsonBody(PipelineBody) },
      responses: { 200: jsonResponse(PipelineSchema), ...STANDARD_ERRORS, ...CONFLICT },
    }),
    async (c) => c.json(await view(await deps.pipelines.create(input(c.req.valid('json')))), 200),
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/pipelines/{pipeline_id}', tags: TAG, summary: 'Get Pipeline', operationId: 'getPipeline',
      description: "Streamkap's list envelope with one item.",
      security: SECURITY, middleware: [read], request: { params: PipelineIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(PipelineList), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => c.json(page([await view(await deps.pipelines.get(c.req.valid('param').pipeline_id))], 1, 1, 1), 200),
  )

  app.openapi(
    createRoute({
      method: 'put', path: '/pipelines/{pipeline_id}', tags: TAG, summary: 'Update Existing Pipeline', operationId: 'updatePipeline',
      security: SECURITY, middleware: [write], request: { params: PipelineIdParam, query: EntityQuery, body: jsonBody(PipelineBody) },
      responses: { 200: jsonResponse(PipelineSchema), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => c.json(await view(await deps.pipelines.update(c.req.valid('param').pipeline_id, input(c.req.valid('json')))), 200),
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/pipelines/{pipeline_id}', tags: TAG, summary: 'Delete Pipeline', operationId: 'deletePipeline',
      description: 'Stops delivery and removes the consumer group; the source keeps streaming.',
      security: SECURITY, middleware: [write], request: { params: PipelineIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(PipelineSchema), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => c.json(await view(await deps.pipelines.delete(c.req.valid('param').pipeline_id)), 200),
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/pipelines/{pipeline_id}/metrics', tags: TAG, summary: 'Get Metrics For Pipeline', operationId: 'getMetricsForPipeline',
      description: 'Only the latest values are kept; every time type answers with them.',
      security: SECURITY, middleware: [requirePermission('read:pipeline_metrics')], request: { params: PipelineIdParam, query: PipelineMetricsQuery },
      responses: { 200: jsonResponse(PipelineMetrics), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const m = await deps.pipelines.metrics(c.req.valid('param').pipeline_id)
      return c.json(
        {
          data: { latency: m.latencyMs, recordsLag: m.recordsLag, status: m.status },
          metadata: {
            latency: { name: 'Pipeline Latency', unit: 'milliseconds' },
            recordsLag: { name: 'Lag in Events', unit: 'count' },
            status: { name: 'Status', unit: 'state' },
          },
        },
        200,
      )
    },
  )

  return app
}
