/**
 * Per-topic figures for `POST /topics/table_metrics`: records and bytes that came in during a time window (by
 * record timestamp, through the log's time index, so the cost is a few index seeks per partition), and how far
 * the slowest consumer group is behind: `lag` in records and `latency_ms`, the age of the oldest record that
 * group has not committed yet (0 when it is caught up, null when no group reads the topic).
 * `bytes_in` is estimated from the partition's average stored record size; `messages_out` is not tracked.
 */
import type { TopicLog } from '../../log/topic-log.js'

export interface TopicWindowMetrics {
  topicId: string
  messagesIn: number
  bytesIn: number
  lag: number | null
  latencyMs: number | null
}

export async function topicWindowMetrics(
  log: TopicLog,
  topicId: string,
  window: { from: number; to: number; now: number },
): Promise<TopicWindowMetrics | undefined> {
  const topic = await log.getTopic(topicId)
  if (!topic) return undefined
  let messagesIn = 0
  let bytesIn = 0
  for (let p = 0; p < topic.partitions; p++) {
    const { latest } = await log.offsets(topicId, p)
    const start = (await log.offsetForTimestamp(topicId, p, window.from)) ?? latest
    const end = (await log.offsetForTimestamp(topicId, p, window.to + 1)) ?? latest
    const count = Math.max(0, end - start)
    const stats = await log.stats(topicId, p)
    messagesIn += count
    bytesIn += stats.records > 0 ? Math.round((count * stats.bytes) / stats.records) : 0
  }
  const behind = await slowestGroup(log, topicId, topic.partitions, window.now)
  return { topicId, messagesIn, bytesIn, ...behind }
}

async function slowestGroup(
  log: TopicLog,
  topicId: string,
  partitions: number,
  now: number,
): Promise<{ lag: number | null; latencyMs: number | null }> {
  let lag: number | null = null
  let latencyMs: number | null = null
  for (const group of await log.listGroups()) {
    const committed = (await log.committedOffsets(group)).filter((o) => o.topic === topicId && o.partition < partitions)
    if (committed.length === 0) continue
    let groupLag = 0
    let oldest: number | null = null
    for (const o of committed) {
      const { latest } = await log.offsets(topicId, o.partition)
      if (o.offset >= latest) continue
      groupLag += latest - o.offset
      const [next] = await log.read(topicId, o.partition, o.offset, { maxRecords: 1 })
      if (next && (oldest === null || next.timestamp < oldest)) oldest = next.timestamp
    }
    lag = Math.max(lag ?? 0, groupLag)
    latencyMs = Math.max(latencyMs ?? 0, oldest === null ? 0 : Math.max(0, now - oldest))
  }
  return { lag, latencyMs }
}
