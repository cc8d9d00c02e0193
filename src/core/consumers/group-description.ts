/**
 * What `GET /consumer-groups[/{id}]` shows: the group's state (Kafka's `Stable` with members, `Empty` without),
 * its members and their assignments, and per topic-partition the committed offset, the log end and the lag.
 * Partitions a member is assigned but the group never committed show a null committed offset and lag.
 */
import type { TopicLog } from '../../log/topic-log.js'
import type { GroupState, MemberView } from './group-state.js'

export interface GroupPartitionOffset {
  topic: string
  partition: number
  committedOffset: number | null
  latestOffset: number
  lag: number | null
}

export interface GroupDescription {
  groupId: string
  state: 'Stable' | 'Empty'
  members: MemberView[]
  offsets: GroupPartitionOffset[]
  totalLag: number
}

export async function describeGroup(log: TopicLog, groupId: string, state: GroupState | undefined): Promise<GroupDescription> {
  const members = state?.describeMembers() ?? []
  const committed = new Map<string, number>()
  for (const o of await log.committedOffsets(groupId)) committed.set(`${o.partition}:${o.topic}`, o.offset)
  const partitions = new Map<string, { topic: string; partition: number }>()
  for (const k of committed.keys()) partitions.set(k, splitKey(k))
  for (const m of members) for (const a of m.assignments) partitions.set(`${a.partition}:${a.topic}`, a)
  const offsets: GroupPartitionOffset[] = []
  for (const [k, tp] of partitions) {
    const info = await log.getTopic(tp.topic)
    if (!info || tp.partition >= info.partitions) continue
    const { latest } = await log.offsets(tp.topic, tp.partition)
    const at = committed.get(k)
    offsets.push({ ...tp, committedOffset: at ?? null, latestOffset: latest, lag: at === undefined ? null : Math.max(0, latest - at) })
  }
  offsets.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  return {
    groupId,
    state: members.length > 0 ? 'Stable' : 'Empty',
    members,
    offsets,
    totalLag: offsets.reduce((n, o) => n + (o.lag ?? 0), 0),
  }
}

function splitKey(k: string): { topic: string; partition: number } {
  const at = k.indexOf(':')
  return { partition: Number(k.slice(0, at)), topic: k.slice(at + 1) }
}
