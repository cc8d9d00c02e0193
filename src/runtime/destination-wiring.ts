/**
 * Builds the delivery half of Sluice (destination and pipeline repositories, services and the delivery supervisor)
 * for `main.ts`, so the composition root gains a few lines instead of a few dozen.
 */
import type { Logger } from 'pino'
import { destinationConnector } from '../connectors/registry.js'
import type { DestinationCatalog } from '../core/destinations/destination.js'
import { createDestinationService } from '../core/destinations/destination-service.js'
import type { Pipeline } from '../core/pipelines/pipeline.js'
import { createPipelineService } from '../core/pipelines/pipeline-service.js'
import type { SourceRuntime } from '../core/ports.js'
import type { Source } from '../core/sources/source.js'
import type { SourceService } from '../core/sources/source-service.js'
import type { TopicLog } from '../log/topic-log.js'
import type { MetadataDb } from '../store/db.js'
import { createDestinationRepository } from '../store/destination-repository.js'
import { createPipelineRepository } from '../store/pipeline-repository.js'
import type { SecretBox } from '../util/secret-box.js'
import { createDestinationSupervisor } from './destination-supervisor.js'

export interface DeliveryWiringDeps {
  metadata: MetadataDb
  log: TopicLog
  secrets: SecretBox
  catalog: DestinationCatalog
  sources: SourceService
  sourceRuntime: SourceRuntime
  topicPrefix(source: Source): string | undefined
  /** Starts an incremental snapshot of these topics (a pipeline's `snapshot_new_tables`). */
  snapshotTopics(sourceId: string, topics: string[]): Promise<void>
  logger: Logger
}

export function createDelivery(deps: DeliveryWiringDeps) {
  const destinationRepo = createDestinationRepository(deps.metadata.db)
  const pipelineRepo = createPipelineRepository(deps.metadata.db)
  const findSource = async (id: string) => (await deps.sources.all()).find((s) => s.id === id)

  const destinations = createDestinationService({
    repo: destinationRepo,
    pipelines: pipelineRepo,
    catalog: deps.catalog,
    secrets: deps.secrets,
    runtime: () => runtime,
  })
  const pipelines = createPipelineService({
    repo: pipelineRepo,
    findSource,
    findDestination: (id) => destinations.find(id),
    topicPrefix: deps.topicPrefix,
    snapshotTopics: deps.snapshotTopics,
    runtime: () => runtime,
  })
  const runtime = createDestinationSupervisor({
    log: deps.log,
    connectors: destinationConnector,
    destinationRepo,
    async loadPlan(destinationId) {
      const destination = await destinations.find(destinationId)
      if (!destination) return undefined
      const rows = await pipelineRepo.forDestination(destinationId)
      const list = await Promise.all(rows.map(async (r) => ({ pipeline: await pipelines.get(r.id), source: await findSource(r.source_id) })))
      return { destination, pipelines: list }
    },
    topicsOf: (source) => deps.sourceRuntime.topicsOf(source),
    logger: deps.logger,
  })

  async function topicsOfPipeline(pipeline: Pipeline): Promise<string[]> {
    if (pipeline.topics) return pipeline.topics
    const source = await findSource(pipeline.sourceId)
    return source ? deps.sourceRuntime.topicsOf(source) : []
  }

  return {
    destinations,
    pipelines,
    runtime,
    findSource,
    topicsOfPipeline,
    async topicsOfDestination(destinationId: string): Promise<string[]> {
      const rows = await pipelineRepo.forDestination(destinationId)
      const all = await Promise.all(rows.map(async (r) => topicsOfPipeline(await pipelines.get(r.id))))
      return [...new Set(all.flat())].sort()
    },
    /** The destination's pipelines' metrics, summed (latency: the worst). */
    async destinationMetrics(destinationId: string) {
      await destinations.get(destinationId)
      const rows = await pipelineRepo.forDestination(destinationId)
      const all = await Promise.all(rows.map((r) => runtime.pipelineMetrics(r.id)))
      const latencies = all.map((m) => m.latencyMs).filter((l): l is number => l !== null)
      return {
        latencyMs: latencies.length ? Math.max(...latencies) : null,
        recordsLag: all.reduce((n, m) => n + m.recordsLag, 0),
        recordsApplied: all.reduce((n, m) => n + m.recordsApplied, 0),
        recordsDeadLettered: all.reduce((n, m) => n + m.recordsDeadLettered, 0),
        pipelines: rows.length,
      }
    },
    /** Starts delivery for every destination (after the sources were resumed). */
    async start(): Promise<void> {
      await runtime.resume((await destinations.all()).map((d) => d.id))
    },
  }
}

export type Delivery = ReturnType<typeof createDelivery>
