/**
 * One consumer group's coordination state, as a pure state machine (no I/O, time passed in): its members, which
 * partitions each one is assigned, and the records each partition has handed out but not yet seen committed.
 *
 * Rules, Kafka's consumer protocol reduced to what HTTP consumers need:
 * - A member is alive while it fetches at least once per `sessionTimeoutMs` (or is inside a long poll). Expired
 *   members are removed on the next `expire`, and whatever they held uncommitted goes back to the group.
 * - Partitions of each subscribed topic are dealt round-robin over the members subscribed to it, in join order.
 *   Membership changes re-deal them (eager, so the assignment is always the full target).
 * - A partition is read by one member at a time: the member holding in-flight records keeps the partition until it
 *   commits them or their visibility timeout passes (cooperative hand-over: a new owner waits instead of receiving
 *   records someone else is still working on). So two members never hold the same uncommitted record at once.
 * - Every delivery is a batch with its own deadline; when the oldest uncommitted batch of a partition expires, the
 *   partition rewinds to its committed offset and the records are handed out again (at-least-once).
 */

export interface TopicPartition {
  topic: string
  partition: number
}

export interface Claim extends TopicPartition {
  /** The offset to read from. */
  from: number
}

interface Member {
  id: string
  topics: string[]
  joinedSeq: number
  lastSeenAt: number
  sessionTimeoutMs: number
  /** Long polls in progress; a member inside one is alive whatever its last-seen time. */
  fetching: number
}

interface Batch {
  end: number
  expiresAt: number
}

interface PartitionState {
  /** The next offset the group has committed (or starts from, when it never committed). */
  committed: number
  /** The next offset to hand out; records in [committed, delivered) are in flight. */
  delivered: number
  holder: string | null
  batches: Batch[]
}

export interface MemberView {
  memberId: string
  topics: string[]
  lastSeenAt: number
  assignments: TopicPartition[]
  inFlightRecords: number
}

export type CommitCheck = { ok: true } | { ok: false; reason: string }

const key = (topic: string, partition: number): string => `${partition}\u0000${topic}`

export class GroupState {
  private readonly members = new Map<string, Member>()
  private readonly partitionCounts = new Map<string, number>()
  private readonly partitions = new Map<string, PartitionState>()
  private assignment = new Map<string, string>()
  private joinSeq = 0

  /** Registers a fetch by `memberId` (joining if it is new) and records when it was seen. */
  touch(memberId: string, topics: string[], now: number, sessionTimeoutMs: number): void {
    const existing = this.members.get(memberId)
    if (existing) {
      existing.lastSeenAt = now
      existing.sessionTimeoutMs = sessionTimeoutMs
      if (!sameTopics(existing.topics, topics)) {
        existing.topics = [...topics]
        this.rebalance()
      }
      return
    }
    this.members.set(memberId, {
      id: memberId, topics: [...topics], joinedSeq: this.joinSeq++, lastSeenAt: now, sessionTimeoutMs, fetching: 0,
    })
    this.rebalance()
  }

  beginFetch(memberId: string): void {
    const member = this.members.get(memberId)
    if (member) member.fetching++
  }

  endFetch(memberId: string, now: number): void {
    const member = this.members.get(memberId)
    if (!member) return
    member.fetching = Math.max(0, member.fetching - 1)
    member.lastSeenAt = now
  }

  /** A member leaves: its uncommitted records go back to the group at once. */
  leave(memberId: string): boolean {
    if (!this.members.delete(memberId)) return false
    for (const state of this.partitions.values()) if (state.holder === memberId) rewind(state)
    this.rebalance()
    return true
  }

  /** Removes members whose session ran out and rewinds partitions whose oldest delivery expired. */
  expire(now: number): void {
    let changed = false
    for (const member of [...this.members.values()]) {
      if (member.fetching === 0 && now - member.lastSeenAt >= member.sessionTimeoutMs) {
        this.members.delete(member.id)
        for (const state of this.partitions.values()) if (state.holder === member.id) rewind(state)
        changed = true
      }
    }
    for (const state of this.partitions.values()) {
      if (state.batches.length > 0 && state.batches[0].expiresAt <= now) rewind(state)
    }
    if (changed) this.rebalance()
  }

  setPartitionCount(topic: string, count: number): void {
    if (this.partitionCounts.get(topic) === count) return
    this.partitionCounts.set(topic, count)
    this.rebalance()
  }

  isKnown(topic: string, partition: number): boolean {
    return this.partitions.has(key(topic, partition))
  }

  /** Sets where a partition starts (its committed offset, or the reset position) before the first claim. */
  initPartition(topic: string, partition: number, committed: number): void {
    this.partitions.set(key(topic, partition), { committed, delivered: committed, holder: null, batches: [] })
  }

  /** Partitions assigned to `memberId` that nobody else holds in flight, with the offset to read from. */
  claims(memberId: string): Claim[] {
    const out: Claim[] = []
    for (const [k, owner] of this.assignment) {
      if (owner !== memberId) continue
      const tp = parseKey(k)
      const state = this.partitions.get(k)
      if (!state || (state.holder !== null && state.holder !== memberId)) continue
      out.push({ ...tp, from: state.delivered })
    }
    return out
  }

  /** Hands [from, end) of a claimed partition to `memberId` until `now + visibilityTimeoutMs`. */
  deliver(memberId: string, tp: TopicPartition, end: number, now: number, visibilityTimeoutMs: number): void {
    const state = this.partitions.get(key(tp.topic, tp.partition))
    if (!state || end <= state.delivered) return
    state.delivered = end
    state.holder = memberId
    state.batches.push({ end, expiresAt: now + visibilityTimeoutMs })
  }

  /** Whether `memberId` (or, with null, a client outside the group) may commit `offset` for a partition. */
  checkCommit(memberId: string | null, tp: TopicPartition, offset: number): CommitCheck {
    const name = `${tp.topic}[${tp.partition}]`
    const refuse = (reason: string): CommitCheck => ({ ok: false, reason })
    if (memberId === null) {
      return this.members.size === 0 ? { ok: true } : refuse('the group has active members; commit with a member_id')
    }
    if (!this.members.has(memberId)) {
      return refuse(`member ${memberId} is not in the group (its session expired); fetch again to rejoin`)
    }
    const k = key(tp.topic, tp.partition)
    const state = this.partitions.get(k)
    const holds = state?.holder === memberId || (state?.holder === null && this.assignment.get(k) === memberId)
    if (!state || !holds) return refuse(`member ${memberId} does not own ${name}; its records were handed to another member`)
    if (offset > state.delivered) return refuse(`offset ${offset} of ${name} is beyond the records delivered (${state.delivered})`)
    return { ok: true }
  }

  /** Records a durable commit: deliveries up to `offset` are done. */
  applyCommit(tp: TopicPartition, offset: number): void {
    const state = this.partitions.get(key(tp.topic, tp.partition))
    if (!state) return
    state.committed = offset
    state.batches = state.batches.filter((b) => b.end > offset)
    // Nothing left in flight: the partition is free again, and reads resume right after the commit.
    if (state.batches.length === 0) {
      state.delivered = offset
      state.holder = null
    }
  }

  /** Forgets every partition position (after an offset reset); members are kept. */
  forgetPositions(): void {
    this.partitions.clear()
  }

  hasMembers(): boolean {
    return this.members.size > 0
  }

  /** When the state may next change by itself (a session or a visibility timeout running out). */
  nextDeadline(): number | null {
    let next: number | null = null
    const consider = (t: number) => {
      if (next === null || t < next) next = t
    }
    for (const m of this.members.values()) if (m.fetching === 0) consider(m.lastSeenAt + m.sessionTimeoutMs)
    for (const s of this.partitions.values()) if (s.batches.length > 0) consider(s.batches[0].expiresAt)
    return next
  }

  describeMembers(): MemberView[] {
    return [...this.members.values()]
      .sort((a, b) => a.joinedSeq - b.joinedSeq)
      .map((m) => {
        const assignments: TopicPartition[] = []
        for (const [k, owner] of this.assignment) if (owner === m.id) assignments.push(parseKey(k))
        assignments.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
        let inFlightRecords = 0
        for (const s of this.partitions.values()) if (s.holder === m.id) inFlightRecords += s.delivered - s.committed
        return { memberId: m.id, topics: [...m.topics], lastSeenAt: m.lastSeenAt, assignments, inFlightRecords }
      })
  }

  /** Deals each topic's partitions round-robin over its subscribers, in join order. */
  private rebalance(): void {
    const next = new Map<string, string>()
    const members = [...this.members.values()].sort((a, b) => a.joinedSeq - b.joinedSeq)
    for (const [topic, count] of this.partitionCounts) {
      const subscribers = members.filter((m) => m.topics.includes(topic))
      if (subscribers.length === 0) continue
      for (let p = 0; p < count; p++) next.set(key(topic, p), subscribers[p % subscribers.length].id)
    }
    this.assignment = next
  }
}

function rewind(state: PartitionState): void {
  state.delivered = state.committed
  state.holder = null
  state.batches = []
}

function parseKey(k: string): TopicPartition {
  const at = k.indexOf('\u0000')
  return { partition: Number(k.slice(0, at)), topic: k.slice(at + 1) }
}

function sameTopics(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t) => b.includes(t))
}
