/**
 * One pipeline's task: opens the destination writer and runs the delivery loop until stopped. On failure (the
 * destination is down, a table cannot be created, the log is unreadable) it reports `failed` with the reason, closes
 * the writer, and runs again after a capped exponential backoff, from the committed offsets — so a destination that
 * was down catches up with nothing lost.
 */
import type { DestinationConnector, DestinationWriter } from '../connectors/destinations/destination.js'
import type { TaskLogger } from '../connectors/source.js'
import type { TopicLog } from '../log/topic-log.js'
import { type BackoffOptions, backoffDelay, sleep } from '../util/backoff.js'
import { type DeliveryMetrics, runDelivery } from './pipeline-delivery.js'
import type { TaskStatus } from './source-task.js'

export interface PipelineTaskOptions {
  pipelineId: string
  destinationId: string
  group: string
  connector: DestinationConnector
  config: Readonly<Record<string, unknown>>
  log: TopicLog
  topics(): Promise<string[]>
  metrics: DeliveryMetrics
  logger: TaskLogger
  onStatus(status: TaskStatus): void
  backoff?: BackoffOptions
}

const BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 }

export class PipelineTask {
  private readonly stopController = new AbortController()
  private loop: Promise<void> | null = null

  constructor(private readonly options: PipelineTaskOptions) {}

  start(): void {
    this.loop ??= this.run()
  }

  get stopping(): boolean {
    return this.stopController.signal.aborted
  }

  /** Stops after the batch in flight (if any) is applied and committed, and closes the writer. */
  async stop(): Promise<void> {
    this.stopController.abort()
    await this.loop
  }

  private async run(): Promise<void> {
    const { options } = this
    const signal = this.stopController.signal
    let attempt = 0
    while (!signal.aborted) {
      options.onStatus({ state: 'starting', reason: null })
      let writer: DestinationWriter | null = null
      try {
        writer = await options.connector.open({ destinationId: options.destinationId, config: options.config, logger: options.logger })
        await runDelivery({
          pipelineId: options.pipelineId,
          destinationId: options.destinationId,
          group: options.group,
          log: options.log,
          writer,
          batchSize: options.connector.batchSize(options.config),
          lingerMs: options.connector.lingerMs?.(options.config) ?? 0,
          topics: options.topics,
          metrics: options.metrics,
          logger: options.logger,
          signal,
          onRunning: () => {
            attempt = 0
            options.onStatus({ state: 'running', reason: null })
          },
        })
      } catch (err) {
        if (signal.aborted) break
        const reason = err instanceof Error ? err.message : String(err)
        options.logger.warn({ err, attempt, pipeline_id: options.pipelineId }, 'pipeline task failed')
        options.onStatus({ state: 'failed', reason })
        await writer?.close().catch(() => undefined)
        writer = null
        await sleep(backoffDelay(attempt++, options.backoff ?? BACKOFF), signal)
      } finally {
        await writer?.close().catch(() => undefined)
      }
    }
  }
}
