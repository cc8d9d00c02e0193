/** Wire shapes of the Consumer Groups tag, and the mapping from the domain. */
import { z } from '@hono/zod-openapi'
import type { GroupDescription } from '../../../core/consumers/group-description.js'
import { Message } from '../topics/topics-schemas.js'

export const GroupIdParam = z.object({ group_id: z.string().min(1).max(255) })

const TopicPartition = z.object({ topic: z.string(), partition: z.number().int() })
const PartitionOffset = z.object({ topic: z.string().min(1), partition: z.number().int().min(0), offset: z.number().int().min(0) })

export const GroupSchema = z
  .object({
    group_id: z.string(),
    state: z.enum(['Stable', 'Empty']),
    members: z.array(
      z.object({
        member_id: z.string(),
        topics: z.array(z.string()),
        assignments: z.array(TopicPartition),
        in_flight_records: z.number().int(),
        last_seen: z.string(),
      }),
    ),
    offsets: z.array(
      z.object({
        topic: z.string(),
        partition: z.number().int(),
        committed_offset: z.number().int().nullable(),
        latest_offset: z.number().int(),
        lag: z.number().int().nullable(),
      }),
    ),
    lag: z.number().int(),
  })
  .openapi('ConsumerGroup')

export function groupView(g: GroupDescription) {
  return {
    group_id: g.groupId,
    state: g.state,
    members: g.members.map((m) => ({
      member_id: m.memberId,
      topics: m.topics,
      assignments: m.assignments,
      in_flight_records: m.inFlightRecords,
      last_seen: new Date(m.lastSeenAt).toISOString(),
    })),
    offsets: g.offsets.map((o) => ({ topic: o.topic, partition: o.partition, committed_offset: o.committedOffset, latest_offset: o.latestOffset, lag: o.lag })),
    lag: g.totalLag,
  }
}

export const ResetBody = z
  .object({
    topics: z.array(z.string().min(1)).min(1),
    strategy: z.enum(['earliest', 'latest', 'timestamp', 'offset']),
    timestamp: z.number().int().optional().openapi({ description: 'Epoch ms, for strategy timestamp' }),
    offset: z.number().int().min(0).optional().openapi({ description: 'For strategy offset; clamped into the stored range' }),
  })
  .openapi('ResetOffsetsRequest')

export const ResetResponse = z.object({ group_id: z.string(), offsets: z.array(PartitionOffset) }).openapi('ResetOffsetsResponse')

export const FetchBody = z
  .object({
    member_id: z.string().min(1).max(255).optional().openapi({ description: 'Returned by the first fetch; send it back to keep your assignment' }),
    topics: z.array(z.string().min(1)).min(1),
    max_records: z.number().int().min(1).max(50_000).default(500),
    max_wait_ms: z.number().int().min(0).max(60_000).default(1000).openapi({ description: 'Long-poll: wait up to this long for records' }),
    visibility_timeout_ms: z.number().int().min(100).max(12 * 3600_000).optional().openapi({ description: 'How long fetched records stay yours before they are handed out again (default 30 s)' }),
    session_timeout_ms: z.number().int().min(100).max(3600_000).optional().openapi({ description: 'How long the member may go without fetching before it leaves the group (default 45 s)' }),
  })
  .openapi('FetchRequest')

export const FetchResponse = z
  .object({
    member_id: z.string(),
    records: z.array(Message),
    assignments: z.array(TopicPartition),
    next_offsets: z.array(PartitionOffset).openapi({ description: 'Post these to /commit once the records are processed' }),
  })
  .openapi('FetchResponse')

export const CommitBody = z
  .object({
    member_id: z.string().min(1).nullable().optional().openapi({ description: 'Required while the group has members' }),
    offsets: z.array(PartitionOffset).min(1).openapi({ description: 'The next offset to read per partition (last processed + 1)' }),
  })
  .openapi('CommitRequest')

export const LeaveBody = z.object({ member_id: z.string().min(1) }).openapi('LeaveRequest')
