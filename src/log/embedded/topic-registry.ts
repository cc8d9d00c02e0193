/**
 * Topics and their partitions: the persisted rows and an in-memory copy that the append path reads, so an append
 * never queries for the next offset. The copy is changed only after the transaction that changes the rows has
 * committed, so after a crash the rows (reloaded on open) and the acknowledged appends always agree.
 *
 * Deleting a topic removes its rows here and queues its id in `deleted_topics`; its records are collected in small
 * batches by the retention pass, so a delete never blocks appends for long.
 */
import { InvalidLogRequestError, TopicExistsError, TopicNotFoundError } from '../log-errors.js'
import { DEFAULT_TOPIC_CONFIG, resolveTopicConfig, validateTopicName } from '../topic-config.js'
import type { TopicConfig, TopicInfo } from '../topic-log.js'
import type { Db } from './schema.js'

export interface PartitionState {
  readonly partition: number
  nextOffset: number
  records: number
  bytes: number
  /** Running maximum of record timestamps appended to this partition (Kafka's time index). */
  maxTimestamp: number
  /** Compaction has processed every record below this offset. */
  cleanedTo: number
}

export interface TopicState {
  readonly id: number
  info: TopicInfo
  partitions: PartitionState[]
}

interface TopicRow {
  id: number
  name: string
  partitions: number
  cleanup_policy: 'delete' | 'compact'
  retention_ms: number
  retention_bytes: number
  max_message_bytes: number
  created_at: number
}

interface PartitionRow {
  topic_id: number
  part: number
  next_offset: number
  records: number
  bytes: number
  max_timestamp: number
  cleaned_to: number
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicState>()
  private readonly insertPartition
  private readonly savePartitionStmt

  constructor(private readonly db: Db) {
    this.insertPartition = db.prepare(
      'INSERT INTO partitions (topic_id, part, next_offset, records, bytes, max_timestamp, cleaned_to) ' +
        'VALUES (?, ?, 0, 0, 0, ?, 0)',
    )
    this.savePartitionStmt = db.prepare(
      'UPDATE partitions SET next_offset = ?, records = ?, bytes = ?, max_timestamp = ?, cleaned_to = ? ' +
        'WHERE topic_id = ? AND part = ?',
    )
    this.load()
  }

  private load(): void {
    const topicRows = this.db.prepare('SELECT * FROM topics').all() as TopicRow[]
    const partitionRows = this.db
      .prepare('SELECT * FROM partitions ORDER BY topic_id, part')
      .all() as PartitionRow[]
    const byId = new Map<number, TopicState>()
    for (const row of topicRows) {
      const state: TopicState = { id: row.id, info: toInfo(row), partitions: [] }
      byId.set(row.id, state)
      this.topics.set(row.name, state)
    }
    for (const row of partitionRows) {
      byId.get(row.topic_id)?.partitions.push({
        partition: row.part,
        nextOffset: row.next_offset,
        records: row.records,
        bytes: row.bytes,
        maxTimestamp: row.max_timestamp,
        cleanedTo: row.cleaned_to,
      })
    }
  }

  get(name: string): TopicState | undefined {
    return this.topics.get(name)
  }

  require(name: string): TopicState {
    const state = this.topics.get(name)
    if (state === undefined) throw new TopicNotFoundError(name)
    return state
  }

  requirePartition(name: string, partition: number): { topic: TopicState; partition: PartitionState } {
    const topic = this.require(name)
    const state = Number.isInteger(partition) ? topic.partitions[partition] : undefined
    if (state === undefined) {
      throw new InvalidLogRequestError(
        'partition',
        `topic '${name}' has no partition ${partition} (it has ${topic.partitions.length})`,
      )
    }
    return { topic, partition: state }
  }

  list(): TopicState[] {
    return [...this.topics.values()]
  }

  create(name: string, patch: Partial<TopicConfig> = {}): TopicInfo {
    validateTopicName(name)
    const config = resolveTopicConfig(DEFAULT_TOPIC_CONFIG, patch)
    const existing = this.topics.get(name)
    if (existing !== undefined) {
      if (existing.info.partitions === config.partitions) return { ...existing.info }
      throw new TopicExistsError(name, `with ${existing.info.partitions} partitions`)
    }
    const createdAt = Date.now()
    const id = this.db.transaction(() => {
      const result = this.db
        .prepare(
          'INSERT INTO topics (name, partitions, cleanup_policy, retention_ms, retention_bytes, ' +
            'max_message_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(name, config.partitions, config.cleanupPolicy, config.retentionMs, config.retentionBytes,
          config.maxMessageBytes, createdAt)
      const topicId = Number(result.lastInsertRowid)
      for (let p = 0; p < config.partitions; p++) this.insertPartition.run(topicId, p, Number.MIN_SAFE_INTEGER)
      return topicId
    })()
    const state: TopicState = { id, info: { name, ...config, createdAt }, partitions: [] }
    for (let p = 0; p < config.partitions; p++) state.partitions.push(emptyPartition(p))
    this.topics.set(name, state)
    return { ...state.info }
  }

  update(name: string, patch: Partial<TopicConfig>): TopicInfo {
    const state = this.require(name)
    const config = resolveTopicConfig(state.info, patch)
    if (config.partitions < state.info.partitions) {
      throw new InvalidLogRequestError(
        'partitions',
        `partitions can only grow (topic '${name}' has ${state.info.partitions}, asked for ${config.partitions})`,
      )
    }
    const leavesCompaction = state.info.cleanupPolicy === 'compact' && config.cleanupPolicy !== 'compact'
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE topics SET partitions = ?, cleanup_policy = ?, retention_ms = ?, retention_bytes = ?, ' +
            'max_message_bytes = ? WHERE id = ?',
        )
        .run(config.partitions, config.cleanupPolicy, config.retentionMs, config.retentionBytes,
          config.maxMessageBytes, state.id)
      for (let p = state.info.partitions; p < config.partitions; p++) {
        this.insertPartition.run(state.id, p, Number.MIN_SAFE_INTEGER)
      }
      if (leavesCompaction) {
        // The cleaner's key map would go stale while the topic is not compacted; a later switch back rescans.
        this.db.prepare('DELETE FROM compact_keys WHERE topic_id = ?').run(state.id)
        this.db.prepare('UPDATE partitions SET cleaned_to = 0 WHERE topic_id = ?').run(state.id)
      }
    })()
    for (let p = state.info.partitions; p < config.partitions; p++) state.partitions.push(emptyPartition(p))
    if (leavesCompaction) for (const p of state.partitions) p.cleanedTo = 0
    state.info = { ...state.info, ...config }
    return { ...state.info }
  }

  delete(name: string): void {
    const state = this.require(name)
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM topics WHERE id = ?').run(state.id)
      this.db.prepare('DELETE FROM partitions WHERE topic_id = ?').run(state.id)
      this.db.prepare('DELETE FROM group_offsets WHERE topic = ?').run(name)
      this.db.prepare('INSERT OR IGNORE INTO deleted_topics (topic_id) VALUES (?)').run(state.id)
    })()
    this.topics.delete(name)
  }

  /** Writes a partition's state row; call inside the transaction that made the change. */
  savePartition(topicId: number, p: PartitionState): void {
    this.savePartitionStmt.run(p.nextOffset, p.records, p.bytes, p.maxTimestamp, p.cleanedTo, topicId, p.partition)
  }
}

function emptyPartition(partition: number): PartitionState {
  return { partition, nextOffset: 0, records: 0, bytes: 0, maxTimestamp: Number.MIN_SAFE_INTEGER, cleanedTo: 0 }
}

function toInfo(row: TopicRow): TopicInfo {
  return {
    name: row.name,
    partitions: row.partitions,
    cleanupPolicy: row.cleanup_policy,
    retentionMs: row.retention_ms,
    retentionBytes: row.retention_bytes,
    maxMessageBytes: row.max_message_bytes,
    createdAt: row.created_at,
  }
}
