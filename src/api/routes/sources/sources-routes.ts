/** The Sources tag: list/search, connector schemas, create, read, update, delete. */
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { NotFoundError } from '../../../core/errors.js'
import type { ConnectorCatalog, SourceRuntime } from '../../../core/ports.js'
import type { Source } from '../../../core/sources/source.js'
import type { SourceService } from '../../../core/sources/source-service.js'
import { type AppEnv, createRouter } from '../../app-env.js'
import { BulkDeleteBody, BulkResult, type BulkItem, type PipelineLinks, attempt, bulkResult, selectIds, sourceLinks } from '../../bulk.js'
import { CONFLICT, NOT_FOUND, STANDARD_ERRORS, jsonBody, jsonResponse, page } from '../../common-schemas.js'
import { maySeeSecrets, requirePermission } from '../../middleware/auth.js'
import {
  EntityQuery,
  SourceBody,
  SourceIdParam,
  SourceList,
  SourceListQuery,
  SourceSchema,
  SourceSearchBody,
  connectorSchemaView,
  sourceView,
} from './sources-schemas.js'

const TAG = ['Sources']
const SECURITY = [{ HTTPBearer: [] }]

export interface SourcesRouteDeps {
  sources: SourceService
  catalog: ConnectorCatalog
  runtime: () => SourceRuntime
  /** Ids of sources whose latest snapshot has one of these statuses. */
  sourcesWithSnapshotStatus: (statuses: string[]) => Promise<string[]>
  /** Every pipeline's ends, for the bulk filters (none when delivery is not wired). */
  pipelines?: PipelineLinks
}

export function createSourcesRoutes(deps: SourcesRouteDeps) {
  const app = createRouter()

  async function view(c: Context<AppEnv>, source: Source, secretReturned?: boolean) {
    return sourceView(source, {
      topics: await deps.runtime().topicsOf(source),
      revealSecrets: Boolean(secretReturned) && maySeeSecrets(c.get('principal')),
      secretKeys: deps.sources.secretKeys(source.connector),
      displayName: deps.catalog.sourceSpec(source.connector)?.displayName ?? source.connector,
    })
  }

  async function list(c: Context<AppEnv>, query: z.infer<typeof SourceListQuery>, body: z.infer<typeof SourceSearchBody> = {}) {
    const filter = { ...query, ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) }
    let ids = filter.id
    if (filter.snapshot?.length) {
      const withSnapshot = await deps.sourcesWithSnapshotStatus(filter.snapshot)
      ids = ids ? ids.filter((id) => withSnapshot.includes(id)) : withSnapshot
      if (ids.length === 0) return page([], query.page, query.page_size, 0)
    }
    const revealSecrets = Boolean(query.secret_returned) && maySeeSecrets(c.get('principal'))
    const { sources, total } = await deps.sources.list({
      ids,
      partialName: filter.partial_name,
      connectors: filter.connector,
      statuses: filter.status,
      sort: query.sort === 'created_timestamp' ? 'created_at' : query.sort,
      sortDir: query.sort_dir,
      page: query.page,
      pageSize: query.page_size,
    }, { decryptSecrets: revealSecrets })
    const result = await Promise.all(sources.map((s) => view(c, s, query.secret_returned)))
    return page(result, query.page, query.page_size, total)
  }

  const read = requirePermission('read:sources')
  const write = requirePermission('write:sources')

  app.openapi(
    createRoute({
      method: 'get', path: '/sources', tags: TAG, summary: 'Get Sources', operationId: 'getSources', security: SECURITY,
      middleware: [read], request: { query: SourceListQuery },
      responses: { 200: jsonResponse(SourceList), ...STANDARD_ERRORS },
    }),
    async (c) => c.json(await list(c, c.req.valid('query')), 200),
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/sources/search', tags: TAG, summary: 'Search Sources', operationId: 'searchSources',
      description: 'The filters of GET /sources in a JSON body (arrays or comma strings); the body wins over the query.',
      security: SECURITY, middleware: [read], request: { query: SourceListQuery, body: jsonBody(SourceSearchBody) },
      responses: { 200: jsonResponse(SourceList), ...STANDARD_ERRORS },
    }),
    async (c) => c.json(await list(c, c.req.valid('query'), c.req.valid('json')), 200),
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/sources/connectors', tags: TAG, summary: 'Get Sources Connectors', operationId: 'getSourcesConnectors',
      security: SECURITY, middleware: [read],
      request: { query: z.object({ connector_code: z.string().optional() }) },
      responses: { 200: jsonResponse(z.record(z.string(), z.array(z.record(z.string(), z.any())))), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    (c) => {
      const code = c.req.valid('query').connector_code
      const specs = code ? deps.catalog.sourceSpecs().filter((s) => s.code === code) : deps.catalog.sourceSpecs()
      if (code && specs.length === 0) throw new NotFoundError('connector', code)
      return c.json(connectorSchemaView(specs), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/sources', tags: TAG, summary: 'Create New Source', operationId: 'createSource',
      security: SECURITY, middleware: [write], request: { query: EntityQuery, body: jsonBody(SourceBody) },
      responses: { 200: jsonResponse(SourceSchema), ...STANDARD_ERRORS, ...CONFLICT },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const source = await deps.sources.create({
        name: body.name,
        connector: body.connector,
        config: body.config,
        createdFrom: body.created_from,
        desiredState: body.desired_state === 'Pending' || !body.desired_state ? 'Active' : body.desired_state,
        tags: body.tags,
        kcClusterId: body.kc_cluster_id,
      })
      return c.json(await view(c, source, c.req.valid('query').secret_returned), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/sources/{source_id}', tags: TAG, summary: 'Get Source', operationId: 'getSource',
      description: "Streamkap's list envelope with one item.",
      security: SECURITY, middleware: [read], request: { params: SourceIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(SourceList), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const source = await deps.sources.get(c.req.valid('param').source_id)
      return c.json(page([await view(c, source, c.req.valid('query').secret_returned)], 1, 1, 1), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'put', path: '/sources/{source_id}', tags: TAG, summary: 'Update Source', operationId: 'updateSource',
      description: 'Replaces name and config. Secrets left out or sent as ******** keep their stored value; set-once keys cannot change.',
      security: SECURITY, middleware: [write], request: { params: SourceIdParam, query: EntityQuery, body: jsonBody(SourceBody) },
      responses: { 200: jsonResponse(SourceSchema), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const source = await deps.sources.update(c.req.valid('param').source_id, {
        name: body.name,
        connector: body.connector,
        config: body.config,
        tags: body.tags,
        kcClusterId: body.kc_cluster_id,
        desiredState: body.desired_state === 'Pending' ? undefined : body.desired_state,
      })
      return c.json(await view(c, source, c.req.valid('query').secret_returned), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/sources/{source_id}/deploy', tags: TAG, summary: 'Deploy Source', operationId: 'deploySource',
      description: 'Restarts the connector with its stored config (a new replication connection, streaming from the stored offset); the desired state is kept, so a paused or stopped source stays so.',
      security: SECURITY, middleware: [write], request: { params: SourceIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(SourceSchema), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const id = c.req.valid('param').source_id
      await deps.runtime().restart(await deps.sources.get(id))
      return c.json(await view(c, await deps.sources.get(id), c.req.valid('query').secret_returned), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/sources/bulk/delete', tags: TAG, summary: 'Bulk Delete Sources', operationId: 'bulkDeleteSources',
      description: 'Deletes each selected source (`ids`, or `select_all`; `filters.destination_id` keeps those with a pipeline to that destination), as a single delete does. One in use by a pipeline fails with its reason (409) and the others go on.',
      security: SECURITY, middleware: [write], request: { body: jsonBody(BulkDeleteBody) },
      responses: { 200: jsonResponse(BulkResult), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const ids = await selectIds(c.req.valid('json'), async () => (await deps.sources.all()).map((s) => s.id), sourceLinks(deps.pipelines ?? (async () => [])))
      const results: BulkItem[] = []
      for (const id of ids) {
        results.push(await attempt(id, async () => {
          const { cleanup } = await deps.sources.delete(id)
          return { id, cleanup_warnings: cleanup.warnings }
        }, 'Source deleted'))
      }
      return c.json(bulkResult(results), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/sources/{source_id}', tags: TAG, summary: 'Delete Source', operationId: 'deleteSource',
      description: 'Stops the connector and drops the replication slot and publication Sluice created for it. 409 while a pipeline reads its topics.',
      security: SECURITY, middleware: [write], request: { params: SourceIdParam, query: EntityQuery },
      responses: { 200: jsonResponse(SourceSchema.extend({ cleanup_warnings: z.array(z.string()) })), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => {
      const { source, cleanup } = await deps.sources.delete(c.req.valid('param').source_id)
      return c.json({ ...(await view(c, source, false)), cleanup_warnings: cleanup.warnings }, 200)
    },
  )

  return app
}
