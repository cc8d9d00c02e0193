/**
 * Where a consumer-group offset reset puts each partition, by strategy (Kafka's `kafka-consumer-groups
 * --reset-offsets`): `earliest` / `latest` stored offsets, the first record at or after `timestamp` (the log end
 * when there is none), or an explicit `offset` clamped into the stored range, as Kafka clamps it.
 */
import type { TopicLog } from '../../log/topic-log.js'
import { InvalidInputError } from '../errors.js'
import type { TopicPartition } from './group-state.js'

export type ResetStrategy = 'earliest' | 'latest' | 'timestamp' | 'offset'

export interface ResetRequest {
  topics: string[]
  strategy: ResetStrategy
  timestamp?: number
  offset?: number
}

export async function resolveResetOffsets(log: TopicLog, req: ResetRequest): Promise<Array<TopicPartition & { offset: number }>> {
  if (req.strategy === 'timestamp' && req.timestamp === undefined) {
    throw InvalidInputError.of(['body', 'timestamp'], "timestamp is required with strategy 'timestamp'", null, 'missing')
  }
  if (req.strategy === 'offset' && req.offset === undefined) {
    throw InvalidInputError.of(['body', 'offset'], "offset is required with strategy 'offset'", null, 'missing')
  }
  const out: Array<TopicPartition & { offset: number }> = []
  for (const topic of req.topics) {
    const info = await log.getTopic(topic)
    if (!info) continue
    for (let partition = 0; partition < info.partitions; partition++) {
      const { earliest, latest } = await log.offsets(topic, partition)
      let offset: number
      switch (req.strategy) {
        case 'earliest':
          offset = earliest
          break
        case 'latest':
          offset = latest
          break
        case 'timestamp':
          offset = (await log.offsetForTimestamp(topic, partition, req.timestamp as number)) ?? latest
          break
        case 'offset':
          offset = Math.min(latest, Math.max(earliest, req.offset as number))
          break
      }
      out.push({ topic, partition, offset })
    }
  }
  return out
}
