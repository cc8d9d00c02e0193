/**
 * Composition root: builds the metadata store, services, runtime and HTTP server from a Config, and tears them down
 * in reverse order. The only module that sees every part.
 */
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import type { ServerType } from '@hono/node-server'
import pino, { type Logger } from 'pino'
import { createApp } from './api/app.js'
import type { Config } from './config/config.js'
import { connectorCatalog, sourceConnector } from './connectors/registry.js'
import { type AuthService, createAuthService } from './core/auth/auth-service.js'
import { type SourceService, createSourceService } from './core/sources/source-service.js'
import { SnapshotNotifier } from './core/snapshots/snapshot-notifier.js'
import { createSnapshotService } from './core/snapshots/snapshot-service.js'
import { createTopicService } from './core/topics/topic-service.js'
import { createConsumerService } from './core/consumers/consumer-service.js'
import { createMetricsService } from './core/metrics/metrics-service.js'
import { createDestinationsRoutes } from './api/routes/destinations/destinations-routes.js'
import { createPipelinesRoutes } from './api/routes/pipelines/pipelines-routes.js'
import { createDelivery } from './runtime/destination-wiring.js'
import { createPipelineRepository } from './store/pipeline-repository.js'
import { createThreadedTopicLog } from './log/threaded/threaded-topic-log.js'
import type { TopicLog } from './log/topic-log.js'
import { createSupervisor, type Supervisor } from './runtime/supervisor.js'
import { createCredentialRepository } from './store/credential-repository.js'
import { type MetadataDb, openMetadataDb } from './store/db.js'
import { createOffsetRepository } from './store/offset-repository.js'
import { createSnapshotRepository } from './store/snapshot-repository.js'
import { createSourceRepository } from './store/source-repository.js'
import { createSecretBox, loadSecretKey } from './util/secret-box.js'
import { VERSION } from './version.js'

export interface Sluice {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:8080`. */
  url: string
  port: number
  logger: Logger
  metadata: MetadataDb
  auth: AuthService
  sources: SourceService
  log: TopicLog
  supervisor: Supervisor
  /** Every route the HTTP server answers (method and Hono path), for the OpenAPI completeness test. */
  routes(): Array<{ method: string; path: string }>
  close(): Promise<void>
}

export interface StartOptions {
  logger?: Logger
  /** Called once when Sluice generated the first administrator credential (the only time its secret is known). */
  onGeneratedCredential?: (credential: { clientId: string; secret: string; url: string }) => void
  /** Called if a part Sluice cannot run without dies (the topic log's thread); `sluice start` exits so it is restarted. */
  onFatal?: (error: Error) => void
}

export async function startSluice(config: Readonly<Config>, options: StartOptions = {}): Promise<Sluice> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'sluice' } })
  const metadata = await openMetadataDb({ url: config.metadataUrl, dataDir: config.dataDir })
  const secrets = createSecretBox(await loadSecretKey({ secretKey: config.secretKey, keyFile: join(config.dataDir, 'secret.key') }))

  const auth = createAuthService(createCredentialRepository(metadata.db), {
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
  })
  const generated = await bootstrapAdmin(auth, config)

  const notifier = new SnapshotNotifier()
  const snapshotRepo = createSnapshotRepository(metadata.db)
  const log = await createThreadedTopicLog({ dir: join(config.dataDir, 'log'), logger: logger.child({ part: 'log' }), onFailure: options.onFatal })
  const sourceRepo = createSourceRepository(metadata.db)
  const supervisor = createSupervisor({
    log,
    connectors: sourceConnector,
    sourceRepo,
    offsetRepo: createOffsetRepository(metadata.db),
    snapshotRepo,
    notifier,
    logger: logger.child({ part: 'runtime' }),
  })
  const sources = createSourceService({ repo: sourceRepo, catalog: connectorCatalog, secrets, runtime: () => supervisor, pipelines: createPipelineRepository(metadata.db) })

  const topics = createTopicService({
    log,
    sources: () => sources.all(),
    topicPrefix: (source) => sourceConnector(source.connector)?.topicPrefix(source.id, source.config),
    sourcesWithSnapshotStatus: (statuses) => snapshots.sourcesWithStatus(statuses),
  })
  const snapshots = createSnapshotService({ repo: snapshotRepo, sources, runtime: () => supervisor, notifier })
  const consumers = createConsumerService({ log })
  const metrics = createMetricsService({
    log,
    liveGroups: () => consumers.liveGroups(),
    sources: async () => (await sources.all()).flatMap((s) => {
      const m = supervisor.metrics(s.id)
      return m ? [{ sourceId: s.id, name: s.name, recordsSent: m.recordsSent, bytesSent: m.bytesSent, millisBehindSource: m.millisBehindSource, streamingConnected: m.streamingConnected }] : []
    }),
  })
  const delivery = createDelivery({
    metadata,
    log,
    secrets,
    catalog: connectorCatalog,
    sources,
    sourceRuntime: supervisor,
    topicPrefix: (source) => sourceConnector(source.connector)?.topicPrefix(source.id, source.config),
    snapshotTopics: async (sourceId, topicNames) => {
      await snapshots.execute({ sourceId, snapshotType: 'incremental', topicNames, additionalConditions: null, surrogateKey: null })
    },
    logger: logger.child({ part: 'delivery' }),
  })
  const deliveryRoutes = [
    createDestinationsRoutes({
      destinations: delivery.destinations,
      catalog: connectorCatalog,
      topicsOf: delivery.topicsOfDestination,
      metricsOf: delivery.destinationMetrics,
      pipelines: () => delivery.pipelines.all(),
    }),
    createPipelinesRoutes({
      pipelines: delivery.pipelines,
      findSource: delivery.findSource,
      findDestination: (id) => delivery.destinations.find(id),
      topicsOf: delivery.topicsOfPipeline,
    }),
  ]
  const app = createApp({ logger, auth, sources, supervisor, topics, snapshots, catalog: connectorCatalog, version: VERSION, extraRoutes: deliveryRoutes, consumers, metrics, pipelines: () => delivery.pipelines.all() })
  const server = await listen(app.fetch, config.host, config.port)
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  logger.info({ url, metadata: metadata.dialect, data_dir: config.dataDir, version: VERSION }, 'sluice started')
  if (generated) options.onGeneratedCredential?.({ ...generated, url })
  await supervisor.resume(await sources.all())
  await delivery.start()

  return {
    url,
    port,
    logger,
    metadata,
    auth,
    sources,
    log,
    supervisor,
    routes: () => app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, path: r.path })),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await delivery.runtime.close()
      await supervisor.close()
      await log.close()
      await metadata.close()
    },
  }
}

/** Ensures the configured administrator exists, or generates the first one; returns a generated credential. */
async function bootstrapAdmin(auth: AuthService, config: Readonly<Config>): Promise<{ clientId: string; secret: string } | undefined> {
  if (config.adminClientId && config.adminSecret) {
    await auth.ensureCredential(config.adminClientId, config.adminSecret, ['admin'])
    return undefined
  }
  if ((await auth.countCredentials()) > 0) return undefined
  const created = await auth.createCredential({ roleIds: ['admin'], description: 'First administrator (generated at start)' })
  return { clientId: created.clientId, secret: created.secret }
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server))
    server.once('error', reject)
  })
}
