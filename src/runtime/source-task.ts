/**
 * One source's task: runs its connector until stopped, and on failure reports `Broken` with the reason and runs it
 * again after a capped exponential backoff (longer for failures retrying cannot fix quickly, such as a missing
 * privilege — the user may fix the database meanwhile). The connector reports when it is streaming; only then is the
 * source `Active`. The backoff starts over only after a run that lasted (STABLE_RUN_MS): a connector that fails
 * shortly after each start — on the same change, say — is retried less and less often, not every half second.
 */
import { ConnectorError } from '../connectors/connector-error.js'
import type { SnapshotChannel } from '../connectors/snapshot-run.js'
import type { OffsetStore, SourceConnector, SourceMetrics, TaskLogger } from '../connectors/source.js'
import type { TopicLog } from '../log/topic-log.js'
import { type BackoffOptions, backoffDelay, sleep } from '../util/backoff.js'

export type TaskState = 'starting' | 'running' | 'failed'

export interface TaskStatus {
  state: TaskState
  reason: string | null
}

export interface SourceTaskOptions {
  sourceId: string
  config: Readonly<Record<string, unknown>>
  connector: SourceConnector
  log: TopicLog
  offsets: OffsetStore
  metrics: SourceMetrics
  logger: TaskLogger
  snapshots: SnapshotChannel
  onStatus(status: TaskStatus): void
  onWarning(warning: string | null): void
  retriableBackoff?: BackoffOptions
  permanentBackoff?: BackoffOptions
  /** How long a run must have lasted since it first reported running for a failure to start the backoff over. */
  stableRunMs?: number
}

const RETRIABLE: BackoffOptions = { initialMs: 500, maxMs: 15_000 }
const PERMANENT: BackoffOptions = { initialMs: 5_000, maxMs: 60_000 }
const STABLE_RUN_MS = 30_000
const SLOW_STOP_MS = 10_000

export class SourceTask {
  private readonly stopController = new AbortController()
  private current: AbortController | null = null
  private loop: Promise<void> | null = null

  constructor(private readonly options: SourceTaskOptions) {}

  start(): void {
    this.loop ??= this.run()
  }

  /** True once `stop` was called: statuses reported after that are stale. */
  get stopping(): boolean {
    return this.stopController.signal.aborted
  }

  /** Aborts the connector and waits for it to finish (its queries cancelled, its connections closed). */
  async stop(): Promise<void> {
    this.stopController.abort()
    this.current?.abort()
    // A stop normally takes well under a second; one that does not is reported (the API call that restarts the
    // source waits for it), so a user sees why, not just a call that does not return.
    const since = Date.now()
    const slow = setInterval(() => this.options.logger.warn({ waited_ms: Date.now() - since }, 'source task is slow to stop'), SLOW_STOP_MS)
    slow.unref()
    try {
      await this.loop
    } finally {
      clearInterval(slow)
    }
  }

  private async run(): Promise<void> {
    const { options } = this
    const stopped = this.stopController.signal
    let attempt = 0
    while (!stopped.aborted) {
      this.current = new AbortController()
      options.onStatus({ state: 'starting', reason: null })
      let error: unknown = null
      let runningSince: number | null = null
      try {
        await options.connector.run({
          sourceId: options.sourceId,
          config: options.config,
          log: options.log,
          offsets: options.offsets,
          metrics: options.metrics,
          logger: options.logger,
          signal: this.current.signal,
          snapshots: options.snapshots,
          onWarning: (warning) => {
            if (!this.stopping) options.onWarning(warning)
          },
          onRunning: () => {
            runningSince ??= Date.now()
            options.onStatus({ state: 'running', reason: null })
          },
        })
        if (!stopped.aborted) error = new ConnectorError('ended', 'the connector stopped on its own', { retriable: true })
      } catch (err) {
        error = err
      }
      if (stopped.aborted) break
      if (runningSince !== null && Date.now() - runningSince >= (options.stableRunMs ?? STABLE_RUN_MS)) attempt = 0
      const retriable = !(error instanceof ConnectorError) || error.retriable
      const reason = error instanceof Error ? error.message : String(error)
      options.logger.warn({ err: error, attempt, retriable }, 'source task failed')
      options.onStatus({ state: 'failed', reason })
      await sleep(backoffDelay(attempt++, retriable ? (options.retriableBackoff ?? RETRIABLE) : (options.permanentBackoff ?? PERMANENT)), stopped)
    }
  }
}
