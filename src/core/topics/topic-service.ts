/**
 * Topics as users see them: the log's topics joined to the entity that produces them (a source, by its topic
 * prefix; otherwise a manual topic), with partition offsets and statistics; manual topic create, update and
 * delete; and message browsing. Topic ids are topic names (stable, and what Streamkap users already type).
 */
import { TopicExistsError } from '../../log/log-errors.js'
import type { LogRecord, PartitionOffsets, TopicConfig, TopicInfo, TopicLog } from '../../log/topic-log.js'
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js'
import type { Source } from '../sources/source.js'
import { type BrowseRequest, type BrowseResult, browseMessages } from './message-browser.js'
import { type TopicWindowMetrics, topicWindowMetrics } from './topic-metrics.js'

export interface TopicEntity {
  entityType: 'sources' | 'manual'
  entityId: string | null
  name: string | null
  connector: string | null
}

export interface PartitionDetails extends PartitionOffsets {
  partition: number
}

export interface TopicDetails {
  topic: TopicInfo
  entity: TopicEntity
  prefix: string | null
  partitions: PartitionDetails[]
}

export interface TopicStatistics {
  /** Per partition: stored records and bytes. */
  partitions: Array<{ partition: number; records: number; bytes: number }>
  records: number
  bytes: number
  /** Records appended in the last 7 and 30 days (by record timestamp). */
  messages7d: number
  messages30d: number
}

export interface TopicServiceDeps {
  log: TopicLog
  sources: () => Promise<Source[]>
  topicPrefix: (source: Source) => string | undefined
  /** Source ids whose latest snapshot has one of `statuses` (for the `snapshot` filter). */
  sourcesWithSnapshotStatus?: (statuses: string[]) => Promise<string[]>
  /** Other users of a topic (for example pipelines), described for a 409; a topic in use cannot be deleted. */
  topicUsers?: (topic: string) => Promise<string[]>
  now?: () => number
}

export interface TopicFilter {
  entityTypes?: string[]
  entityIds?: string[]
  topicIds?: string[]
  partialName?: string
  snapshotStatuses?: string[]
  /** Dead-letter topics are listed unless this is false. */
  includeDlq?: boolean
}

const DAY_MS = 24 * 60 * 60 * 1000

/** Dead-letter topics are named `<topic>.dlq` / `-dlq` / `_dlq`, or `dlq.<…>`. */
export function isDlqTopic(name: string): boolean {
  return /(^dlq[._-])|([._-]dlq$)/i.test(name)
}

export function createTopicService(deps: TopicServiceDeps) {
  const now = deps.now ?? Date.now

  async function entityIndex(): Promise<Array<{ prefix: string; source: Source }>> {
    const out: Array<{ prefix: string; source: Source }> = []
    for (const source of await deps.sources()) {
      const prefix = deps.topicPrefix(source)
      if (prefix) out.push({ prefix, source })
    }
    return out
  }

  async function details(topic: TopicInfo, index: Array<{ prefix: string; source: Source }>): Promise<TopicDetails> {
    const owner = index.find((e) => topic.name.startsWith(`${e.prefix}.`))
    const partitions: PartitionDetails[] = []
    for (let partition = 0; partition < topic.partitions; partition++) {
      partitions.push({ partition, ...(await deps.log.offsets(topic.name, partition)) })
    }
    return {
      topic,
      prefix: owner?.prefix ?? null,
      partitions,
      entity: owner
        ? { entityType: 'sources', entityId: owner.source.id, name: owner.source.name, connector: owner.source.connector }
        : { entityType: 'manual', entityId: null, name: null, connector: null },
    }
  }

  async function requireTopic(topicId: string): Promise<TopicInfo> {
    const topic = await deps.log.getTopic(topicId)
    if (!topic) throw new NotFoundError('topic', topicId)
    return topic
  }

  async function recordsSince(topic: TopicInfo, since: number): Promise<number> {
    let count = 0
    for (let p = 0; p < topic.partitions; p++) {
      const { latest } = await deps.log.offsets(topic.name, p)
      const from = await deps.log.offsetForTimestamp(topic.name, p, since)
      if (from !== null) count += latest - from
    }
    return count
  }

  return {
    async list(filter: TopicFilter): Promise<TopicDetails[]> {
      const index = await entityIndex()
      const topics = (await deps.log.listTopics()).sort((a, b) => a.name.localeCompare(b.name))
      const snapshotSources = filter.snapshotStatuses?.length
        ? new Set(await (deps.sourcesWithSnapshotStatus?.(filter.snapshotStatuses) ?? []))
        : undefined
      const all = await Promise.all(topics.map((t) => details(t, index)))
      return all.filter(
        (d) =>
          (!filter.entityTypes?.length || filter.entityTypes.includes(d.entity.entityType)) &&
          (!filter.entityIds?.length || (d.entity.entityId !== null && filter.entityIds.includes(d.entity.entityId))) &&
          (!filter.topicIds?.length || filter.topicIds.includes(d.topic.name)) &&
          (!filter.partialName || d.topic.name.toLowerCase().includes(filter.partialName.toLowerCase())) &&
          (!snapshotSources || (d.entity.entityId !== null && snapshotSources.has(d.entity.entityId))) &&
          (filter.includeDlq !== false || !isDlqTopic(d.topic.name)),
      )
    },

    async get(topicId: string): Promise<TopicDetails> {
      return details(await requireTopic(topicId), await entityIndex())
    },

    async statistics(topicId: string): Promise<TopicStatistics> {
      const topic = await requireTopic(topicId)
      const partitions: TopicStatistics['partitions'] = []
      for (let partition = 0; partition < topic.partitions; partition++) {
        partitions.push({ partition, ...(await deps.log.stats(topic.name, partition)) })
      }
      return {
        partitions,
        records: partitions.reduce((n, p) => n + p.records, 0),
        bytes: partitions.reduce((n, p) => n + p.bytes, 0),
        messages7d: await recordsSince(topic, now() - 7 * DAY_MS),
        messages30d: await recordsSince(topic, now() - 30 * DAY_MS),
      }
    },

    /** Creates a manual topic; an existing name is a conflict (the log itself treats a same-shape create as a no-op). */
    async create(name: string, config: Partial<TopicConfig>): Promise<TopicDetails> {
      if (await deps.log.getTopic(name)) throw new ConflictError(`Topic '${name}' already exists`)
      try {
        return details(await deps.log.createTopic(name, config), await entityIndex())
      } catch (err) {
        if (err instanceof TopicExistsError) throw new ConflictError(`Topic '${name}' already exists`)
        throw err
      }
    },

    async update(topicId: string, patch: Partial<TopicConfig>): Promise<TopicDetails> {
      const topic = await requireTopic(topicId)
      if (patch.partitions !== undefined && patch.partitions < topic.partitions) {
        throw InvalidInputError.of(
          ['body', 'partition_count'],
          `the partition count can only grow (topic has ${topic.partitions}, asked for ${patch.partitions})`,
          patch.partitions,
        )
      }
      return details(await deps.log.updateTopic(topicId, patch), await entityIndex())
    },

    /** Refused while a source writes to the topic or another entity uses it. */
    async delete(topicId: string): Promise<void> {
      const topic = await requireTopic(topicId)
      const owner = (await entityIndex()).find((e) => topic.name.startsWith(`${e.prefix}.`))
      if (owner) {
        throw new ConflictError(
          `Topic '${topicId}' is produced by source ${owner.source.id} (${owner.source.name}); delete or change the source first`,
        )
      }
      const users = (await deps.topicUsers?.(topicId)) ?? []
      if (users.length > 0) throw new ConflictError(`Topic '${topicId}' is in use by ${users.join(', ')}`)
      await deps.log.deleteTopic(topicId)
    },

    async browse(topicId: string, req: BrowseRequest): Promise<BrowseResult> {
      const topic = await requireTopic(topicId)
      if (req.partition !== undefined && req.partition >= topic.partitions) {
        throw InvalidInputError.of(['query', 'partition'], `topic '${topicId}' has ${topic.partitions} partition(s)`, req.partition)
      }
      return browseMessages(deps.log, topicId, topic.partitions, req)
    },

    /** Metrics of each named topic (unknown names are skipped) or of every topic, over [from, to]. */
    async tableMetrics(topicIds: string[] | null, window: { from?: number; to?: number }): Promise<TopicWindowMetrics[]> {
      const at = now()
      const names = topicIds ?? (await deps.log.listTopics()).map((t) => t.name)
      const out: TopicWindowMetrics[] = []
      for (const name of names) {
        const m = await topicWindowMetrics(deps.log, name, { from: window.from ?? 0, to: window.to ?? at, now: at })
        if (m) out.push(m)
      }
      return out
    },

    /**
     * Where tailing starts: `positions` (partition → next offset, e.g. from a resumed stream) wins; other partitions
     * start at the earliest stored record or at the log end.
     */
    async tailStart(topicId: string, from: 'earliest' | 'latest', positions: Map<number, number>): Promise<Map<number, number>> {
      const topic = await requireTopic(topicId)
      const out = new Map<number, number>()
      for (let p = 0; p < topic.partitions; p++) {
        const offsets = await deps.log.offsets(topicId, p)
        out.set(p, positions.get(p) ?? (from === 'earliest' ? offsets.earliest : offsets.latest))
      }
      return out
    },

    /** Reads up to `maxRecords` from each partition's position and advances the positions past what it returns. */
    async tail(topicId: string, positions: Map<number, number>, maxRecords: number): Promise<LogRecord[]> {
      const topic = await requireTopic(topicId)
      const out: LogRecord[] = []
      for (let p = 0; p < topic.partitions; p++) {
        // Partitions added while tailing start at their beginning.
        const batch = await deps.log.read(topicId, p, positions.get(p) ?? 0, { maxRecords })
        if (batch.length > 0) positions.set(p, batch[batch.length - 1].offset + 1)
        else if (!positions.has(p)) positions.set(p, 0)
        for (const r of batch) out.push(r)
      }
      return out
    },

    waitForAppend(topicId: string, signal: AbortSignal): Promise<void> {
      return deps.log.waitForAppend(topicId, signal)
    },
  }
}

export type TopicService = ReturnType<typeof createTopicService>
