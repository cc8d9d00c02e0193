/**
 * The supervisor: the one owner of source lifecycle. It runs one task per source whose desired state is Active,
 * persists `connector_status` / `task_statuses` on every transition, restarts tasks whose config changed, and removes
 * a deleted source's task, database resources, topics and offset. On process start it resumes every Active source.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { newSourceMetrics, type SourceConnector, type SourceMetrics, type TableDescription } from '../connectors/source.js'
import type { CleanupReport, SourceRuntime } from '../core/ports.js'
import type { ConnectorStatus, Source, TaskStatuses } from '../core/sources/source.js'
import type { TopicLog } from '../log/topic-log.js'
import type { SnapshotNotifier } from '../core/snapshots/snapshot-notifier.js'
import type { OffsetRepository } from '../store/offset-repository.js'
import type { SnapshotRepository } from '../store/snapshot-repository.js'
import { createSnapshotChannel } from './snapshot-channel.js'
import type { SourceRepository } from '../store/source-repository.js'
import { SourceTask, type TaskStatus } from './source-task.js'

export interface SupervisorDeps {
  log: TopicLog
  connectors: (code: string) => SourceConnector | undefined
  sourceRepo: SourceRepository
  offsetRepo: OffsetRepository
  snapshotRepo: SnapshotRepository
  notifier: SnapshotNotifier
  logger: Logger
}

interface Running {
  task: SourceTask
  configHash: string
  metrics: SourceMetrics
  state: TaskStatus['state']
  warning: string | null
}

function hashConfig(config: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex')
}

const TASK_STATE: Record<TaskStatus['state'], { status: ConnectorStatus; task: TaskStatuses }> = {
  starting: { status: 'Starting', task: { '0': { state: 'UNASSIGNED' } } },
  running: { status: 'Active', task: { '0': { state: 'RUNNING' } } },
  failed: { status: 'Broken', task: { '0': { state: 'FAILED' } } },
}

export interface Supervisor extends SourceRuntime {
  describe(source: Source): Promise<TableDescription[]>
  /** Waits up to `timeoutMs` for the source's task to be running; returns the connector status then. */
  waitForStatus(sourceId: string, timeoutMs: number): Promise<string>
  /** Starts a task for every source whose desired state is Active. */
  resume(sources: Source[]): Promise<void>
  restart(source: Source): Promise<void>
  metrics(sourceId: string): SourceMetrics | undefined
  /** Stops every task (process shutdown); sources keep their desired state. */
  close(): Promise<void>
}

export function createSupervisor(deps: SupervisorDeps): Supervisor {
  const running = new Map<string, Running>()
  const lastMetrics = new Map<string, SourceMetrics>()
  const prefixes = new Map<string, string | null>()
  // Serializes lifecycle changes per source, so a fast pause → resume → delete cannot interleave.
  const queues = new Map<string, Promise<unknown>>()

  function serialized<T>(sourceId: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(sourceId) ?? Promise.resolve()
    const next = previous.then(work, work)
    queues.set(sourceId, next.catch(() => undefined))
    return next
  }

  async function writeStatus(sourceId: string, status: ConnectorStatus, tasks: TaskStatuses, reason: string | null): Promise<void> {
    try {
      await deps.sourceRepo.update(sourceId, { connector_status: status, task_statuses: JSON.stringify(tasks), status_reason: reason })
    } catch (err) {
      deps.logger.error({ err, source_id: sourceId }, 'could not persist source status')
    }
  }

  function startTask(source: Source): void {
    const connector = deps.connectors(source.connector)
    if (!connector) {
      void writeStatus(source.id, 'Broken', { '0': { state: 'FAILED', trace: 'unknown connector' } }, `unknown connector ${source.connector}`)
      return
    }
    const metrics = lastMetrics.get(source.id) ?? newSourceMetrics()
    lastMetrics.set(source.id, metrics)
    const logger = deps.logger.child({ source_id: source.id })
    const entry: Running = { task: undefined as unknown as SourceTask, configHash: hashConfig(source.config), metrics, state: 'starting', warning: null }
    const publish = () => {
      const mapped = TASK_STATE[entry.state]
      const reason = entry.state === 'failed' ? lastReason : entry.warning
      const tasks = reason ? { '0': { ...mapped.task['0'], trace: reason } } : mapped.task
      void writeStatus(source.id, mapped.status, tasks, reason)
    }
    let lastReason: string | null = null
    const task = new SourceTask({
      sourceId: source.id,
      config: source.config,
      connector,
      log: deps.log,
      metrics,
      logger,
      offsets: {
        load: async () => (await deps.offsetRepo.load(source.id)) as never,
        save: (offset) => deps.offsetRepo.save(source.id, offset),
      },
      snapshots: createSnapshotChannel(source.id, deps.snapshotRepo, deps.notifier),
      onStatus: (status) => {
        // After stop() the source's status is written by whoever stopped it (Paused, Stopped, or gone).
        if (task.stopping) return
        if (status.state === 'running' && entry.state !== 'running') logger.info({}, 'source active')
        entry.state = status.state
        lastReason = status.reason
        if (status.state !== 'running') entry.warning = null
        publish()
      },
      onWarning: (warning) => {
        if (task.stopping || warning === entry.warning) return
        entry.warning = warning
        if (warning) logger.warn({ warning }, 'source health warning')
        if (entry.state === 'running') publish()
      },
    })
    entry.task = task
    running.set(source.id, entry)
    task.start()
  }

  async function stopTask(sourceId: string): Promise<void> {
    const entry = running.get(sourceId)
    if (!entry) return
    running.delete(sourceId)
    const logger = deps.logger.child({ source_id: sourceId })
    const since = Date.now()
    logger.debug({}, 'task stopping')
    await entry.task.stop()
    logger.debug({ ms: Date.now() - since }, 'task stopped')
  }

  async function reconcileNow(source: Source): Promise<void> {
    const entry = running.get(source.id)
    if (source.desiredState === 'Active') {
      if (entry && entry.configHash === hashConfig(source.config)) return
      if (entry) await stopTask(source.id)
      startTask(source)
      return
    }
    await stopTask(source.id)
    const status: ConnectorStatus = source.desiredState === 'Paused' ? 'Paused' : 'Stopped'
    await writeStatus(source.id, status, status === 'Paused' ? { '0': { state: 'PAUSED' } } : {}, null)
  }

  return {
    reconcile: (source) => serialized(source.id, () => reconcileNow(source)),

    restart: (source) =>
      serialized(source.id, async () => {
        await stopTask(source.id)
        await reconcileNow(source)
      }),

    remove: (source) =>
      serialized(source.id, async (): Promise<CleanupReport> => {
        await stopTask(source.id)
        lastMetrics.delete(source.id)
        const connector = deps.connectors(source.connector)
        const report = connector
          ? await connector.cleanup({ sourceId: source.id, config: source.config, logger: deps.logger.child({ source_id: source.id }) })
          : { warnings: [] }
        const prefix = connector?.topicPrefix(source.id, source.config)
        if (prefix) {
          for (const topic of await deps.log.listTopics()) {
            if (topic.name.startsWith(`${prefix}.`)) await deps.log.deleteTopic(topic.name)
          }
        }
        await deps.offsetRepo.delete(source.id)
        await deps.snapshotRepo.deleteForSource(source.id)
        return report
      }),

    async topicsOf(source) {
      // Parsing a config builds regexes; the prefix only changes with the config, so it is cached per update.
      const cacheKey = `${source.id}@${source.updatedAt}`
      let prefix = prefixes.get(cacheKey)
      if (prefix === undefined) {
        prefix = deps.connectors(source.connector)?.topicPrefix(source.id, source.config) ?? null
        if (prefixes.size > 10_000) prefixes.clear()
        prefixes.set(cacheKey, prefix)
      }
      if (!prefix) return []
      return (await deps.log.listTopics()).map((t) => t.name).filter((name) => name.startsWith(`${prefix}.`)).sort()
    },

    async resume(sources) {
      for (const source of sources) if (source.desiredState !== 'Active') await this.reconcile(source)
      for (const source of sources) if (source.desiredState === 'Active') await this.reconcile(source)
    },

    metrics: (sourceId) => lastMetrics.get(sourceId),

    async describe(source) {
      const connector = deps.connectors(source.connector)
      if (!connector) throw new Error(`unknown connector ${source.connector}`)
      return connector.describe({ sourceId: source.id, config: source.config })
    },

    async waitForStatus(sourceId, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const entry = running.get(sourceId)
        if (!entry || entry.state === 'running' || Date.now() >= deadline) {
          const row = await deps.sourceRepo.get(sourceId)
          if (entry?.state === 'running') return 'Active'
          return row?.connector_status ?? 'Unknown'
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },

    async close() {
      await Promise.all([...running.keys()].map((id) => stopTask(id)))
    },
  }
}
