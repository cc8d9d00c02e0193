/**
 * Consumer groups over the topic log: listing and describing groups, resetting and deleting their offsets, and
 * consuming over HTTP as a group member (long-polling fetch, commit, leave).
 *
 * Coordination lives in GroupState (pure); this service feeds it the log's partition counts and committed offsets
 * and the clock. All state changes of one group run one at a time (a per-group promise chain), so a read and the
 * delivery it produces are atomic with respect to other members. Waiting in a long poll happens outside that
 * chain. State is in memory: after a restart members simply fetch again and resume from their committed offsets,
 * which is the at-least-once contract.
 */
import { randomUUID } from 'node:crypto'
import type { LogRecord, TopicLog } from '../../log/topic-log.js'
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js'
import { type GroupDescription, describeGroup } from './group-description.js'
import { GroupState, type TopicPartition } from './group-state.js'
import { resolveResetOffsets, type ResetRequest } from './offset-reset.js'

export interface ConsumerServiceOptions {
  log: TopicLog
  /** How long a fetched record stays leased to its member before it is handed out again. */
  visibilityTimeoutMs?: number
  /** How long a member may go without fetching before it leaves the group. */
  sessionTimeoutMs?: number
  now?: () => number
}

export interface FetchRequest {
  memberId?: string
  topics: string[]
  maxRecords: number
  maxWaitMs: number
  visibilityTimeoutMs?: number
  sessionTimeoutMs?: number
  /** Ends the long poll early (the client went away). */
  signal?: AbortSignal
}

export interface FetchResult {
  memberId: string
  records: LogRecord[]
  assignments: TopicPartition[]
}

export interface CommitRequest {
  memberId: string | null
  offsets: Array<TopicPartition & { offset: number }>
}

export const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000
export const DEFAULT_SESSION_TIMEOUT_MS = 45_000
/** Per partition per fetch, so one busy partition cannot starve the others in a single response. */
const READ_CHUNK = 10_000
/** A soft cap on the payload bytes of one fetch response (Kafka's fetch.max.bytes is 50 MiB). */
const FETCH_MAX_BYTES = 32 * 1024 * 1024

export function createConsumerService(options: ConsumerServiceOptions) {
  const { log } = options
  const now = options.now ?? Date.now
  const groups = new Map<string, GroupState>()
  const chains = new Map<string, Promise<unknown>>()
  let rotation = 0

  function stateOf(groupId: string): GroupState {
    let state = groups.get(groupId)
    if (!state) {
      state = new GroupState()
      groups.set(groupId, state)
    }
    return state
  }

  /** Runs `work` after every earlier change to the same group has finished. */
  function serialized<T>(groupId: string, work: () => Promise<T>): Promise<T> {
    const run = (chains.get(groupId) ?? Promise.resolve()).then(work)
    const tail = run.catch(() => undefined)
    chains.set(groupId, tail)
    void tail.then(() => {
      if (chains.get(groupId) === tail) chains.delete(groupId)
    })
    return run
  }

  async function requireTopics(topics: string[], field: Array<string | number>): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    for (const [i, topic] of topics.entries()) {
      const info = await log.getTopic(topic)
      if (!info) throw InvalidInputError.of([...field, i], `topic '${topic}' does not exist`, topic)
      counts.set(topic, info.partitions)
    }
    return counts
  }

  /** Brings partition counts up to date and gives unknown partitions their committed (or earliest) offset. */
  async function syncPartitions(groupId: string, state: GroupState, topics: string[]): Promise<void> {
    let committed: Map<string, number> | undefined
    for (const topic of topics) {
      const info = await log.getTopic(topic)
      if (!info) continue
      state.setPartitionCount(topic, info.partitions)
      for (let p = 0; p < info.partitions; p++) {
        if (state.isKnown(topic, p)) continue
        committed ??= new Map((await log.committedOffsets(groupId)).map((o) => [`${o.partition}:${o.topic}`, o.offset]))
        const start = committed.get(`${p}:${topic}`) ?? (await log.offsets(topic, p)).earliest
        state.initPartition(topic, p, start)
      }
    }
  }

  /** One pass: reads what the member may read now and leases it. */
  async function pull(groupId: string, memberId: string, req: FetchRequest): Promise<LogRecord[]> {
    const state = stateOf(groupId)
    const at = now()
    state.touch(memberId, req.topics, at, req.sessionTimeoutMs ?? options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS)
    state.expire(at)
    await syncPartitions(groupId, state, req.topics)
    const claims = state.claims(memberId)
    const records: LogRecord[] = []
    let bytes = 0
    const start = rotation++
    for (let i = 0; i < claims.length && records.length < req.maxRecords && bytes < FETCH_MAX_BYTES; i++) {
      const claim = claims[(start + i) % claims.length]
      const wanted = Math.min(READ_CHUNK, req.maxRecords - records.length)
      const batch = await log.read(claim.topic, claim.partition, claim.from, { maxRecords: wanted, maxBytes: FETCH_MAX_BYTES - bytes })
      if (batch.length === 0) continue
      for (const r of batch) {
        records.push(r)
        bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0)
      }
      const visibility = req.visibilityTimeoutMs ?? options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS
      state.deliver(memberId, claim, batch[batch.length - 1].offset + 1, now(), visibility)
    }
    return records
  }

  /** Waits for an append to any of `topics`, the group's next deadline, `until`, or an abort. */
  async function waitForChange(state: GroupState, topics: string[], until: number, signal?: AbortSignal): Promise<void> {
    const deadline = Math.min(until, state.nextDeadline() ?? until)
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - now()))
    const onAbort = () => controller.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await Promise.race(topics.map((t) => log.waitForAppend(t, controller.signal)))
    } finally {
      clearTimeout(timer)
      controller.abort()
      signal?.removeEventListener('abort', onAbort)
    }
  }

  return {
    async fetch(groupId: string, req: FetchRequest): Promise<FetchResult> {
      await requireTopics(req.topics, ['body', 'topics'])
      const memberId = req.memberId ?? `member-${randomUUID()}`
      const deadline = now() + req.maxWaitMs
      const state = stateOf(groupId)
      await serialized(groupId, async () => {
        state.touch(memberId, req.topics, now(), req.sessionTimeoutMs ?? options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS)
        state.beginFetch(memberId)
      })
      try {
        for (;;) {
          const records = await serialized(groupId, () => pull(groupId, memberId, req))
          if (records.length > 0 || now() >= deadline || req.signal?.aborted) {
            const assignments = state.describeMembers().find((m) => m.memberId === memberId)?.assignments ?? []
            return { memberId, records, assignments }
          }
          await waitForChange(state, req.topics, deadline, req.signal)
        }
      } finally {
        state.endFetch(memberId, now())
      }
    },

    async commit(groupId: string, req: CommitRequest): Promise<void> {
      for (const [i, o] of req.offsets.entries()) {
        const info = await log.getTopic(o.topic)
        const at = ['body', 'offsets', i]
        if (!info) throw InvalidInputError.of([...at, 'topic'], `topic '${o.topic}' does not exist`, o.topic)
        if (o.partition >= info.partitions) {
          throw InvalidInputError.of([...at, 'partition'], `topic '${o.topic}' has ${info.partitions} partition(s)`, o.partition)
        }
      }
      await serialized(groupId, async () => {
        const state = stateOf(groupId)
        state.expire(now())
        for (const o of req.offsets) {
          const verdict = state.checkCommit(req.memberId, o, o.offset)
          if (!verdict.ok) throw new ConflictError(`cannot commit: ${verdict.reason}`)
        }
        await log.commitOffsets(groupId, req.offsets)
        for (const o of req.offsets) state.applyCommit(o, o.offset)
      })
    },

    async leave(groupId: string, memberId: string): Promise<void> {
      await serialized(groupId, async () => {
        if (!groups.get(groupId)?.leave(memberId)) throw new NotFoundError('member', memberId)
      })
    },

    async list(): Promise<GroupDescription[]> {
      const ids = new Set(await log.listGroups())
      for (const [id, state] of groups) {
        state.expire(now())
        if (state.hasMembers()) ids.add(id)
      }
      const out: GroupDescription[] = []
      for (const id of [...ids].sort()) out.push(await describeGroup(log, id, groups.get(id)))
      return out
    },

    async get(groupId: string): Promise<GroupDescription> {
      const state = groups.get(groupId)
      state?.expire(now())
      const known = state?.hasMembers() || (await log.listGroups()).includes(groupId)
      if (!known) throw new NotFoundError('consumer group', groupId)
      return describeGroup(log, groupId, state)
    },

    /** Kafka refuses a reset while the group has members: stop the consumers (or let their sessions end) first. */
    async resetOffsets(groupId: string, req: ResetRequest): Promise<Array<TopicPartition & { offset: number }>> {
      await requireTopics(req.topics, ['body', 'topics'])
      return serialized(groupId, async () => {
        const state = groups.get(groupId)
        state?.expire(now())
        if (state?.hasMembers()) {
          throw new ConflictError(`consumer group '${groupId}' has active members; stop its consumers before resetting offsets`)
        }
        const offsets = await resolveResetOffsets(log, req)
        await log.commitOffsets(groupId, offsets)
        state?.forgetPositions()
        return offsets
      })
    },

    async delete(groupId: string): Promise<void> {
      await serialized(groupId, async () => {
        const state = groups.get(groupId)
        state?.expire(now())
        if (state?.hasMembers()) throw new ConflictError(`consumer group '${groupId}' has active members; it cannot be deleted`)
        const stored = (await log.listGroups()).includes(groupId)
        if (!stored && !state) throw new NotFoundError('consumer group', groupId)
        if (stored) await log.deleteGroup(groupId)
        groups.delete(groupId)
      })
    },

    /** Member counts and in-flight records per group, for metrics. */
    liveGroups(): Array<{ groupId: string; members: number; inFlightRecords: number }> {
      const at = now()
      return [...groups.entries()].map(([groupId, state]) => {
        state.expire(at)
        const members = state.describeMembers()
        return { groupId, members: members.length, inFlightRecords: members.reduce((n, m) => n + m.inFlightRecords, 0) }
      })
    },
  }
}

export type ConsumerService = ReturnType<typeof createConsumerService>
