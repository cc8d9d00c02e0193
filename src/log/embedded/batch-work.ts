/**
 * Helpers for background work (retention, compaction, deleted-topic collection) that must never block appends
 * for long: it runs in transactions of at most BATCH_RECORDS rows and yields to the event loop between them, and
 * it re-reads topic state after each yield because a topic may have been updated or deleted meanwhile.
 */
import type { PartitionState, TopicRegistry, TopicState } from './topic-registry.js'

/** Rows per background transaction: a few milliseconds of work, so an append waits at most that long. */
export const BATCH_RECORDS = 5000

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** The partition if its topic still exists as the same incarnation (deleted-and-recreated topics get new ids). */
export function currentPartition(
  registry: TopicRegistry,
  name: string,
  topicId: number,
  partition: number,
): { topic: TopicState; partition: PartitionState } | undefined {
  const topic = registry.get(name)
  if (topic === undefined || topic.id !== topicId) return undefined
  const state = topic.partitions[partition]
  return state === undefined ? undefined : { topic, partition: state }
}
