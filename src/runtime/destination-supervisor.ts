/**
 * The delivery supervisor: the one owner of destination lifecycle. It runs one PipelineTask per pipeline whose
 * destination's desired state is Active, persists the destination's `connector_status` / `task_statuses` (one task
 * per pipeline) on every transition, restarts tasks whose destination config or pipeline changed, and removes a
 * deleted pipeline's task and consumer group, or a deleted destination's dead-letter topic. Changes are serialized
 * per destination, so a fast pause → resume → delete cannot interleave.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { type DestinationConnector, deadLetterTopic } from '../connectors/destinations/destination.js'
import type { DeliveryRuntime, Destination } from '../core/destinations/destination.js'
import { type Pipeline, pipelineGroup } from '../core/pipelines/pipeline.js'
import type { ConnectorStatus, Source, TaskStatuses } from '../core/sources/source.js'
import type { TopicLog } from '../log/topic-log.js'
import type { DestinationRepository } from '../store/destination-repository.js'
import { type DeliveryMetrics, newDeliveryMetrics } from './pipeline-delivery.js'
import { PipelineTask } from './pipeline-task.js'
import type { TaskStatus } from './source-task.js'

export interface DeliveryPlan {
  destination: Destination
  pipelines: Array<{ pipeline: Pipeline; source: Source | undefined }>
}

export interface DestinationSupervisorDeps {
  log: TopicLog
  connectors: (code: string) => DestinationConnector | undefined
  destinationRepo: DestinationRepository
  /** The destination and its pipelines as stored now (undefined once deleted). */
  loadPlan(destinationId: string): Promise<DeliveryPlan | undefined>
  /** Every topic the source writes to now. */
  topicsOf(source: Source): Promise<string[]>
  logger: Logger
}

interface Running {
  task: PipelineTask
  destinationId: string
  hash: string
  state: TaskStatus['state']
  reason: string | null
}

export interface DestinationSupervisor extends DeliveryRuntime {
  /** Starts the tasks of every destination (process start). */
  resume(destinationIds: string[]): Promise<void>
  close(): Promise<void>
}

const STATE: Record<TaskStatus['state'], 'RUNNING' | 'UNASSIGNED' | 'FAILED'> = { running: 'RUNNING', starting: 'UNASSIGNED', failed: 'FAILED' }

export function createDestinationSupervisor(deps: DestinationSupervisorDeps): DestinationSupervisor {
  const running = new Map<string, Running>()
  const metrics = new Map<string, DeliveryMetrics>()
  const topicsFns = new Map<string, () => Promise<string[]>>()
  const idleStatus = new Map<string, string>()
  const removed = new Set<string>()
  const queues = new Map<string, Promise<unknown>>()

  function serialized<T>(destinationId: string, work: () => Promise<T>): Promise<T> {
    const next = (queues.get(destinationId) ?? Promise.resolve()).then(work, work)
    queues.set(destinationId, next.catch(() => undefined))
    return next
  }

  async function publish(destinationId: string): Promise<void> {
    const row = await deps.destinationRepo.get(destinationId)
    if (!row) return
    const entries = [...running.values()].filter((r) => r.destinationId === destinationId)
    let status: ConnectorStatus = 'Active'
    let reason: string | null = null
    let tasks: TaskStatuses = {}
    if (row.desired_state !== 'Active') {
      status = row.desired_state === 'Paused' ? 'Paused' : 'Stopped'
      if (status === 'Paused') tasks = { '0': { state: 'PAUSED' } }
    } else {
      const failed = entries.find((e) => e.state === 'failed')
      status = failed ? 'Broken' : entries.some((e) => e.state === 'starting') ? 'Starting' : 'Active'
      reason = failed?.reason ?? null
      entries.forEach((e, i) => {
        tasks[String(i)] = e.reason ? { state: STATE[e.state], trace: e.reason } : { state: STATE[e.state] }
      })
    }
    try {
      await deps.destinationRepo.update(destinationId, { connector_status: status, status_reason: reason, task_statuses: JSON.stringify(tasks) })
    } catch (err) {
      deps.logger.error({ err, destination_id: destinationId }, 'could not persist destination status')
    }
  }

  function start(plan: DeliveryPlan, pipeline: Pipeline, source: Source | undefined, hash: string): void {
    const destination = plan.destination
    const connector = deps.connectors(destination.connector)
    const logger = deps.logger.child({ destination_id: destination.id, pipeline_id: pipeline.id })
    const topics = async () => (pipeline.topics ? pipeline.topics : source ? deps.topicsOf(source) : [])
    topicsFns.set(pipeline.id, topics)
    const m = metrics.get(pipeline.id) ?? newDeliveryMetrics()
    metrics.set(pipeline.id, m)
    if (!connector) return
    const entry: Running = { task: undefined as unknown as PipelineTask, destinationId: destination.id, hash, state: 'starting', reason: null }
    entry.task = new PipelineTask({
      pipelineId: pipeline.id,
      destinationId: destination.id,
      group: pipelineGroup(pipeline.id),
      connector,
      config: destination.config,
      log: deps.log,
      topics,
      metrics: m,
      logger,
      onStatus: (status) => {
        if (entry.task.stopping || (entry.state === status.state && entry.reason === status.reason)) return
        entry.state = status.state
        entry.reason = status.reason
        void serialized(destination.id, () => publish(destination.id))
      },
    })
    running.set(pipeline.id, entry)
    entry.task.start()
  }

  async function stop(pipelineId: string): Promise<void> {
    const entry = running.get(pipelineId)
    if (!entry) return
    running.delete(pipelineId)
    await entry.task.stop()
  }

  async function reconcileNow(destinationId: string): Promise<void> {
    const plan = await deps.loadPlan(destinationId)
    const active = plan?.destination.desiredState === 'Active'
    const wanted = new Map<string, { pipeline: Pipeline; source: Source | undefined; hash: string }>()
    for (const { pipeline, source } of plan?.pipelines ?? []) {
      if (removed.has(pipeline.id)) continue
      idleStatus.set(pipeline.id, plan!.destination.desiredState === 'Paused' ? 'Paused' : 'Stopped')
      const hash = createHash('sha256')
        .update(JSON.stringify([plan!.destination.connector, plan!.destination.config, pipeline.sourceId, pipeline.topics]))
        .digest('hex')
      if (active) wanted.set(pipeline.id, { pipeline, source, hash })
    }
    for (const [id, entry] of [...running]) {
      if (entry.destinationId === destinationId && wanted.get(id)?.hash !== entry.hash) await stop(id)
    }
    for (const [id, w] of wanted) if (!running.has(id)) start(plan!, w.pipeline, w.source, w.hash)
    await publish(destinationId)
  }

  return {
    reconcile: (id) => serialized(id, () => reconcileNow(id)),

    restart: (id) =>
      serialized(id, async () => {
        for (const [pid, entry] of [...running]) if (entry.destinationId === id) await stop(pid)
        await reconcileNow(id)
      }),

    async removePipeline(pipelineId) {
      removed.add(pipelineId)
      const work = async () => {
        await stop(pipelineId)
        metrics.delete(pipelineId)
        topicsFns.delete(pipelineId)
        await deps.log.deleteGroup(pipelineGroup(pipelineId)).catch(() => undefined)
      }
      const entry = running.get(pipelineId)
      await (entry ? serialized(entry.destinationId, work) : work())
    },

    removeDestination: (id) =>
      serialized(id, async () => {
        for (const [pid, entry] of [...running]) if (entry.destinationId === id) await stop(pid)
        await deps.log.deleteTopic(deadLetterTopic(id)).catch(() => undefined)
      }),

    async pipelineMetrics(pipelineId) {
      const entry = running.get(pipelineId)
      const committed = new Map((await deps.log.committedOffsets(pipelineGroup(pipelineId))).map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]))
      let topics: string[] = []
      try {
        topics = (await topicsFns.get(pipelineId)?.()) ?? [...new Set([...committed.keys()].map((k) => k.split('\u0000')[0]))]
      } catch {}
      let recordsLag = 0
      for (const topic of topics) {
        const partitions = (await deps.log.getTopic(topic))?.partitions ?? 0
        for (let p = 0; p < partitions; p++) {
          const { earliest, latest } = await deps.log.offsets(topic, p)
          recordsLag += Math.max(0, latest - Math.max(earliest, committed.get(`${topic}\u0000${p}`) ?? 0))
        }
      }
      const status = entry ? { running: 'Active', starting: 'Starting', failed: 'Broken' }[entry.state] : (idleStatus.get(pipelineId) ?? 'Stopped')
      const m = metrics.get(pipelineId)
      return { latencyMs: m?.latencyMs ?? null, recordsLag, status, recordsApplied: m?.recordsApplied ?? 0, recordsDeadLettered: m?.recordsDeadLettered ?? 0 }
    },

    async resume(destinationIds) {
      for (const id of destinationIds) await this.reconcile(id)
    },

    async close() {
      await Promise.all([...running.keys()].map((id) => stop(id)))
    },
  }
}
