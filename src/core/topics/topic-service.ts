/**
 * Topics as users see them: the log's topics joined to the entity that produces them (a source, by its topic
 * prefix), with partition offsets; and message browsing. Topic ids are topic names (stable, and what Streamkap
 * users already type).
 */
import type { LogRecord, PartitionOffsets, TopicInfo, TopicLog } from '../../log/topic-log.js'
import { NotFoundError } from '../errors.js'
import type { Source } from '../sources/source.js'

export interface TopicEntity {
  entityType: 'sources' | 'manual'
  entityId: string | null
  name: string | null
  connector: string | null
}

export interface TopicDetails {
  topic: TopicInfo
  entity: TopicEntity
  prefix: string | null
  partitions: Array<{ partition: number } & PartitionOffsets>
}

export interface TopicServiceDeps {
  log: TopicLog
  sources: () => Promise<Source[]>
  topicPrefix: (source: Source) => string | undefined
}

export interface TopicFilter {
  entityTypes?: string[]
  entityIds?: string[]
  topicIds?: string[]
  partialName?: string
}

export function createTopicService(deps: TopicServiceDeps) {
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
    const partitions = await Promise.all(
      Array.from({ length: topic.partitions }, async (_, partition) => ({ partition, ...(await deps.log.offsets(topic.name, partition)) })),
    )
    return {
      topic,
      prefix: owner?.prefix ?? null,
      partitions,
      entity: owner
        ? { entityType: 'sources', entityId: owner.source.id, name: owner.source.name, connector: owner.source.connector }
        : { entityType: 'manual', entityId: null, name: null, connector: null },
    }
  }

  return {
    async list(filter: TopicFilter): Promise<TopicDetails[]> {
      const index = await entityIndex()
      const topics = (await deps.log.listTopics()).sort((a, b) => a.name.localeCompare(b.name))
      const all = await Promise.all(topics.map((t) => details(t, index)))
      return all.filter(
        (d) =>
          (!filter.entityTypes?.length || filter.entityTypes.includes(d.entity.entityType)) &&
          (!filter.entityIds?.length || (d.entity.entityId !== null && filter.entityIds.includes(d.entity.entityId))) &&
          (!filter.topicIds?.length || filter.topicIds.includes(d.topic.name)) &&
          (!filter.partialName || d.topic.name.toLowerCase().includes(filter.partialName.toLowerCase())),
      )
    },

    async get(topicId: string): Promise<TopicDetails> {
      const topic = await deps.log.getTopic(topicId)
      if (!topic) throw new NotFoundError('topic', topicId)
      return details(topic, await entityIndex())
    },

    /** Reads from one partition; `offset` defaults to the earliest stored record. */
    async messages(topicId: string, partition: number, offset: number | undefined, limit: number): Promise<LogRecord[]> {
      const topic = await deps.log.getTopic(topicId)
      if (!topic) throw new NotFoundError('topic', topicId)
      if (partition >= topic.partitions) throw new NotFoundError('partition', `${topicId}/${partition}`)
      const from = offset ?? (await deps.log.offsets(topicId, partition)).earliest
      return deps.log.read(topicId, partition, from, { maxRecords: limit })
    },
  }
}

export type TopicService = ReturnType<typeof createTopicService>
