/**
 * The HTTP API: Streamkap-compatible routes on Hono, one sub-app per tag, OpenAPI 3.1 generated from the route
 * schemas. This file only composes; routes live in `routes/<tag>/`.
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { Logger } from 'pino'
import type { AuthService } from '../core/auth/auth-service.js'
import type { ConsumerService } from '../core/consumers/consumer-service.js'
import type { MetricsService } from '../core/metrics/metrics-service.js'
import type { ConnectorCatalog } from '../core/ports.js'
import type { SnapshotService } from '../core/snapshots/snapshot-service.js'
import type { SourceService } from '../core/sources/source-service.js'
import type { TopicService } from '../core/topics/topic-service.js'
import type { Supervisor } from '../runtime/supervisor.js'
import type { AppEnv } from './app-env.js'
import type { PipelineLinks } from './bulk.js'
import { authenticate } from './middleware/auth.js'
import { errorHandler, notFoundHandler } from './middleware/error-mapping.js'
import { requestId } from './middleware/request-id.js'
import { requestLog } from './middleware/request-log.js'
import { createAuthRoutes } from './routes/auth/auth-routes.js'
import { createConsumerGroupsRoutes } from './routes/consumer-groups/consumer-groups-routes.js'
import { createMetricsRoutes } from './routes/metrics/metrics-routes.js'
import { createDocsRoutes } from './routes/meta/docs-routes.js'
import { createSourceLifecycleRoutes } from './routes/sources/source-lifecycle-routes.js'
import { createSourcesRoutes } from './routes/sources/sources-routes.js'
import { createSnapshotsRoutes } from './routes/snapshots/snapshots-routes.js'
import { createTopicsRoutes } from './routes/topics/topics-routes.js'
import { validationHook } from './validation.js'

export interface ApiDeps {
  logger: Logger
  auth: AuthService
  sources: SourceService
  catalog: ConnectorCatalog
  supervisor: Supervisor
  topics: TopicService
  snapshots: SnapshotService
  /** Consumer groups and HTTP consumption; the routes are mounted when given. */
  consumers?: ConsumerService
  /** Prometheus `GET /metrics`; mounted when given. */
  metrics?: MetricsService
  version: string
  /** Extra tag routers (later parts of the product mount theirs here). */
  extraRoutes?: Array<OpenAPIHono<AppEnv>>
  /** Every pipeline's ends (bulk filters of the sources routes). */
  pipelines?: PipelineLinks
}

export const OPENAPI_TAGS = [
  { name: 'Authentication', description: 'Obtain and refresh access tokens, manage client credentials and roles.' },
  { name: 'Sources', description: 'Create, configure, and manage data sources, snapshots, and their lifecycle.' },
  { name: 'Topics', description: 'Browse topic details, statistics, configurations, metrics, and messages.' },
  { name: 'Consumer Groups', description: 'List, inspect, and reset consumer group offsets.' },
  { name: 'Destinations', description: 'Create, configure, and manage data destinations and their lifecycle.' },
  { name: 'Pipelines', description: 'Create, configure, and manage CDC pipelines and their lifecycle.' },
  { name: 'Meta', description: 'Health and documentation.' },
]

export function createApp(deps: ApiDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook as never })
  app.use('*', requestId())
  app.use('*', requestLog(deps.logger))
  app.use('*', authenticate(deps.auth))
  app.onError(errorHandler(deps.logger))
  app.notFound(notFoundHandler)

  app.get('/healthz', (c) => c.json({ status: 'ok', version: deps.version }))
  app.route('/', createDocsRoutes())
  app.route('/', createAuthRoutes(deps.auth))
  app.route(
    '/',
    createSourcesRoutes({
      sources: deps.sources,
      catalog: deps.catalog,
      runtime: () => deps.supervisor,
      sourcesWithSnapshotStatus: (statuses) => deps.snapshots.sourcesWithStatus(statuses),
      pipelines: deps.pipelines,
    }),
  )
  app.route('/', createSnapshotsRoutes({ snapshots: deps.snapshots, sources: deps.sources, topics: deps.topics }))
  app.route('/', createSourceLifecycleRoutes({ sources: deps.sources, supervisor: deps.supervisor, snapshots: deps.snapshots, pipelines: deps.pipelines }))
  app.route('/', createTopicsRoutes(deps.topics))
  if (deps.consumers) app.route('/', createConsumerGroupsRoutes(deps.consumers))
  if (deps.metrics) app.route('/', createMetricsRoutes(deps.metrics))
  for (const routes of deps.extraRoutes ?? []) app.route('/', routes)

  app.openAPIRegistry.registerComponent('securitySchemes', 'HTTPBearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An access token from POST /auth/access-token.',
  })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Sluice REST API',
      version: deps.version,
      description: 'Self-hosted change data capture. Compatible with the Streamkap REST API.',
      license: { name: 'Apache-2.0' },
    },
    tags: OPENAPI_TAGS,
  })
  return app
}
