/** The Destinations tag: list/search, connector schemas, create, read, update, delete, lifecycle actions. */
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { deadLetterTopic } from '../../../connectors/destinations/destination.js'
import type { Destination, DestinationCatalog } from '../../../core/destinations/destination.js'
import type { DestinationService } from '../../../core/destinations/destination-service.js'
import { NotFoundError } from '../../../core/errors.js'
import { type AppEnv, createRouter } from '../../app-env.js'
import { BulkDeleteBody, BulkResult, type BulkItem, type PipelineLinks, attempt, bulkResult, destinationLinks, selectIds } from '../../bulk.js'
import { CONFLICT, NOT_FOUND, STANDARD_ERRORS, jsonBody, jsonResponse, page } from '../../common-schemas.js'
import { ACTIONS, type Action, desiredStateFor, registerBulkActions } from '../../lifecycle.js'
import { maySeeSecrets, requirePermission } from '../../middleware/auth.js'
import { EntityQuery, connectorSchemaView } from '../sources/sources-schemas.js'
import {
  DestinationBody,
  DestinationIdParam,
  DestinationList,
  DestinationListQuery,
  DestinationSchema,
  DestinationSearchBody,
  destinationView,
} from './destinations-schemas.js'

const TAG = ['Destinations']
const SECURITY = [{ HTTPBearer: [] }]

export interface DestinationsRouteDeps {
  destinations: DestinationService
  catalog: DestinationCatalog
  /** Topics the destination's pipelines deliver. */
  topicsOf(destinationId: string): Promise<string[]>
  metricsOf(destinationId: string): Promise<{ latencyMs: number | null; recordsLag: number; recordsApplied: number; recordsDeadLettered: number; pipelines: number }>
  /** Every pipeline's ends, for the bulk filters. */
  pipelines: PipelineLinks
}

const MetricsQuery = z.object({
  time_type: z.enum(['latest', 'timeseries', 'timesummary']).default('latest'),
  time_interval: z.coerce.number().int().min(1).optional(),
  time_unit: z.enum(['minute', 'hour', 'day', 'week', 'month']).optional(),
  timestamp_from: z.string().optional(),
  timestamp_to: z.string().optional(),
})

const DestinationMetrics = z
  .object({ data: z.record(z.string(), z.any()), metadata: z.record(z.string(), z.object({ name: z.string(), unit: z.string() })) })
  .openapi('DestinationMetrics')

const ActionParams = DestinationIdParam.extend({ action: z.enum(ACTIONS) })
const ACTION_DESCRIPTION = 'pause/stop: stop delivering (offsets kept). resume: continue from the committed offsets. restart: reconnect and continue.'

const ActionResult = z
  .object({ id: z.string(), action: z.string(), desired_state: z.string(), connector_status: z.string(), task_statuses: z.record(z.string(), z.any()) })
  .openapi('DestinationActionResult')

export function createDestinationsRoutes(deps: DestinationsRouteDeps) {
  const app = createRouter()

  async function view(c: Context<AppEnv>, destination: Destination, secretReturned?: boolean) {
    return destinationView(destination, {
      topics: await deps.topicsOf(destination.id),
      revealSecrets: Boolean(secretReturned) && maySeeSecrets(c.get('principal')),
      secretKeys: deps.destinations.secretKeys(destination.connector),
      displayName: deps.catalog.destinationSpec(destination.connector)?.displayName ?? destination.connector,
      deadLetterTopic: deadLetterTopic(destination.id),
    })
  }

  async function list(c: Context<AppEnv>, query: z.infer<typeof DestinationListQuery>, body: z.infer<typeof DestinationSearchBody> = {}) {
    const filter = { ...query, ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) }
    const { destinations, total } = await deps.destinations.list({
      ids: filter.id,
      partialName: filter.partial_name,
      connectors: filter.connector,
      statuses: filter.status,
      sort: query.sort === 'created_timestamp' ? 'created_at' : query.sort,
      sortDir: query.sort_dir,
      page: query.page,
      pageSize: query.page_size,
    })
    const result = await Promise.all(destinations.map((d) => view(c, d, query.secret_returned)))
    return page(result, query.page, query.page_size, total)
  }

  const read = requirePermission('read:destinations')
  const write = requirePermission('write:destinations')

  app.openapi(
    createRoute({
      method: 'get', path: '/destinations', tags: TAG, summary: 'Get Destinations', operationId: 'getDestinations', security: SECURITY,
      middleware: [read], request: { query: DestinationListQuery },
      responses: { 200: jsonResponse(DestinationList), ...STANDARD_ERRORS },
    }),
    async (c) => c.json(await list(c, c.req.valid('query')), 200),
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/destinations/search', tags: TAG, summary: 'Search Destinations', operationId: 'searchDestinations',
      description: 'The filters of GET /destinations in a JSON body (arrays or comma strings); the body wins over the query.',
      security: SECURITY, middleware: [read], request: { query: DestinationListQuery, body: jsonBody(DestinationSearchBody) },
      responses: { 200: jsonResponse(DestinationList), ...STANDARD_ERRORS },
    }),
    async (c) => c.json(await list(c, c.req.valid('query'), c.req.valid('json')), 200),
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/destinations/connectors', tags: TAG, summary: 'Get Destinations Connectors', operationId: 'getDestinationsConnectors',
      security: SECURITY, middleware: [read], request: { query: z.object({ connector_code: z.string().optional() }) },
      responses: { 200: jsonResponse(z.record(z.string(), z.array(z.record(z.string(), z.any())))), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    (c) => {
      const code = c.req.valid('query').connector_code
      const specs = code ? deps.catalog.destinationSpecs().filter((s) => s.code === code) : deps.catalog.destinationSpecs()
      if (code && specs.length === 0) throw new NotFoundError('connector', code)
      return c.json(connectorSchemaView(specs), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/destinations', tags: TAG, summary: 'Create New Destination', operationId: 'createDestination',
      security: SECURITY, middleware: [write], request: { query: EntityQuery, body: jsonBody(DestinationBody) },
      responses: { 200: jsonResponse(DestinationSchema), ...STANDARD_ERRORS, ...CONFLICT },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const destination = await deps.destinations.create({
        name: body.name,
        connector: body.connector,
        config: body.config,
        createdFrom: body.created_from,
        desiredState: body.desired_state === 'Pending' || !body.desired_state ? 'Active' : body.desired_state,
        tags: body.tags,
        kcClusterId: body.kc_cluster_id,
      })
      return c.json(await view(c, destination, c.req.valid('query').secret_returned), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/destinations/{destination_id}', tags: TAG, summary: 'Get Destination', operationId: 'getDestination',
      description: "Streamkap's list envelope with one item.",
      security: SECURITY, middleware: [read], request: { params: DestinationIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(DestinationList), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const destination = await deps.destinations.get(c.req.valid('param').destination_id)
      return c.json(page([await view(c, destination, c.req.valid('query').secret_returned)], 1, 1, 1), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'put', path: '/destinations/{destination_id}', tags: TAG, summary: 'Update Existing Destination', operationId: 'updateDestination',
      description: 'Replaces name and config. Secrets left out or sent as ******** keep their stored value.',
      security: SECURITY, middleware: [write], request: { params: DestinationIdParam, query: EntityQuery, body: jsonBody(DestinationBody) },
      responses: { 200: jsonResponse(DestinationSchema), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const destination = await deps.destinations.update(c.req.valid('param').destination_id, {
        name: body.name,
        connector: body.connector,
        config: body.config,
        tags: body.tags,
        kcClusterId: body.kc_cluster_id,
        desiredState: body.desired_state === 'Pending' ? undefined : body.desired_state,
      })
      return c.json(await view(c, destination, c.req.valid('query').secret_returned), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/destinations/bulk/delete', tags: TAG, summary: 'Bulk Delete Destinations', operationId: 'bulkDeleteDestinations',
      description: 'Deletes each selected destination (`ids`, or `select_all`; `filters.source_id` keeps those a pipeline of that source delivers to). One in use by a pipeline fails with the reason a single delete gives (409) and the others go on.',
      security: SECURITY, middleware: [write], request: { body: jsonBody(BulkDeleteBody) },
      responses: { 200: jsonResponse(BulkResult), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const ids = await selectIds(c.req.valid('json'), async () => (await deps.destinations.all()).map((d) => d.id), destinationLinks(deps.pipelines))
      const results: BulkItem[] = []
      for (const id of ids) results.push(await attempt(id, async () => ({ id: (await deps.destinations.delete(id)).id }), 'Destination deleted'))
      return c.json(bulkResult(results), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/destinations/{destination_id}', tags: TAG, summary: 'Delete Destination', operationId: 'deleteDestination',
      description: 'Deletes the destination and its dead-letter topic. 409 while a pipeline delivers to it.',
      security: SECURITY, middleware: [write], request: { params: DestinationIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(DestinationSchema), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => {
      const destination = await deps.destinations.delete(c.req.valid('param').destination_id)
      return c.json({ ...(await view(c, destination, false)), topics: [], topic_ids: [] }, 200)
    },
  )

  async function apply(id: string, action: Action) {
    const destination = await deps.destinations.setDesiredState(id, desiredStateFor(action), action === 'restart')
    return { id, action, desired_state: destination.desiredState, connector_status: destination.connectorStatus, task_statuses: destination.taskStatuses }
  }

  app.openapi(
    createRoute({
      method: 'post', path: '/destinations/{destination_id}/actions/{action}', tags: TAG, summary: 'Destination Action', operationId: 'destinationAction',
      description: ACTION_DESCRIPTION,
      security: SECURITY, middleware: [write], request: { params: ActionParams },
      responses: { 200: jsonResponse(ActionResult), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { destination_id: id, action } = c.req.valid('param')
      return c.json(await apply(id, action), 200)
    },
  )

  registerBulkActions(app, {
    noun: 'Destination', tags: TAG, security: SECURITY, middleware: write,
    description: `${ACTION_DESCRIPTION} Applied to each selected destination (\`ids\`, or \`select_all\`; \`filters.source_id\` keeps those a pipeline of that source delivers to); an unknown one fails alone.`,
    all: async () => (await deps.destinations.all()).map((d) => d.id),
    links: destinationLinks(deps.pipelines),
    apply,
  })

  app.openapi(
    createRoute({
      method: 'post', path: '/destinations/{destination_id}/deploy', tags: TAG, summary: 'Deploy Destination', operationId: 'deployDestination',
      description: 'Restarts the delivery tasks with the stored config (new connections, offsets reloaded); the desired state is kept.',
      security: SECURITY, middleware: [write], request: { params: DestinationIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(DestinationSchema), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const id = c.req.valid('param').destination_id
      const current = await deps.destinations.get(id)
      const destination = await deps.destinations.setDesiredState(id, current.desiredState, true)
      return c.json(await view(c, destination, c.req.valid('query').secret_returned), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/destinations/{destination_id}/metrics', tags: TAG, summary: 'Get Metrics For Destination', operationId: 'getMetricsForDestination',
      description: "Latest values over the destination's pipelines; every time type answers with them.",
      security: SECURITY, middleware: [read], request: { params: DestinationIdParam, query: MetricsQuery },
      responses: { 200: jsonResponse(DestinationMetrics), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const id = c.req.valid('param').destination_id
      const m = await deps.metricsOf(id)
      const destination = await deps.destinations.get(id)
      return c.json(
        {
          data: {
            latency: m.latencyMs,
            recordsLag: m.recordsLag,
            sinkRecordWriteTotal: m.recordsApplied,
            deadLetterRecordTotal: m.recordsDeadLettered,
            pipelines: m.pipelines,
            connector_status: destination.connectorStatus,
          },
          metadata: {
            latency: { name: 'Destination Latency', unit: 'milliseconds' },
            recordsLag: { name: 'Lag in Events', unit: 'count' },
            sinkRecordWriteTotal: { name: 'Records Written', unit: 'count' },
            deadLetterRecordTotal: { name: 'Records Dead-Lettered', unit: 'count' },
            pipelines: { name: 'Pipelines', unit: 'count' },
            connector_status: { name: 'Status', unit: 'state' },
          },
        },
        200,
      )
    },
  )

  return app
}
