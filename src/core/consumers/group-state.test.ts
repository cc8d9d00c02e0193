import { describe, expect, it } from 'vitest'
import { GroupState } from './group-state.js'

const SESSION = 1000
const VISIBILITY = 500

function group(partitions = 4): GroupState {
  const g = new GroupState()
  g.setPartitionCount('t', partitions)
  for (let p = 0; p < partitions; p++) g.initPartition('t', p, 0)
  return g
}

const owned = (g: GroupState, member: string) => g.claims(member).map((c) => c.partition).sort()

describe('GroupState (consumer-group coordination)', () => {
  it('deals partitions round-robin over members in join order, and re-deals when one leaves', () => {
    const g = group(4)
    g.touch('a', ['t'], 0, SESSION)
    expect(owned(g, 'a')).toEqual([0, 1, 2, 3])
    g.touch('b', ['t'], 0, SESSION)
    expect(owned(g, 'a')).toEqual([0, 2])
    expect(owned(g, 'b')).toEqual([1, 3])
    g.leave('a')
    expect(owned(g, 'b')).toEqual([0, 1, 2, 3])
  })

  it('keeps a partition with the member holding in-flight records until it commits', () => {
    const g = group(2)
    g.touch('a', ['t'], 0, SESSION)
    g.deliver('a', { topic: 't', partition: 1 }, 10, 0, VISIBILITY)
    g.touch('b', ['t'], 1, SESSION)
    // Partition 1 now belongs to b, but a still holds offsets 0..9 of it.
    expect(owned(g, 'b')).toEqual([])
    expect(owned(g, 'a')).toEqual([0])
    expect(g.checkCommit('a', { topic: 't', partition: 1 }, 10)).toEqual({ ok: true })
    g.applyCommit({ topic: 't', partition: 1 }, 10)
    expect(g.claims('b')).toEqual([{ topic: 't', partition: 1, from: 10 }])
  })

  it('rewinds to the committed offset when the oldest delivery outlives its visibility timeout', () => {
    const g = group(1)
    g.touch('a', ['t'], 0, 60_000)
    g.deliver('a', { topic: 't', partition: 0 }, 5, 0, VISIBILITY)
    g.applyCommit({ topic: 't', partition: 0 }, 2)
    expect(g.claims('a')).toEqual([{ topic: 't', partition: 0, from: 5 }])
    expect(g.nextDeadline()).toBe(VISIBILITY)
    g.expire(VISIBILITY - 1)
    expect(g.claims('a')[0].from).toBe(5)
    g.expire(VISIBILITY)
    expect(g.claims('a')[0].from).toBe(2)
  })

  it('removes a member whose session ran out and gives its uncommitted records to the others', () => {
    const g = group(2)
    g.touch('a', ['t'], 0, SESSION)
    g.touch('b', ['t'], 0, 60_000)
    g.deliver('a', { topic: 't', partition: 0 }, 7, 0, 60_000)
    expect(owned(g, 'b')).toEqual([1])
    g.expire(SESSION)
    expect(g.describeMembers().map((m) => m.memberId)).toEqual(['b'])
    expect(g.claims('b')).toEqual([{ topic: 't', partition: 0, from: 0 }, { topic: 't', partition: 1, from: 0 }])
  })

  it('never expires a member inside a long poll', () => {
    const g = group(1)
    g.touch('a', ['t'], 0, SESSION)
    g.beginFetch('a')
    g.expire(10 * SESSION)
    expect(g.hasMembers()).toBe(true)
    g.endFetch('a', 10 * SESSION)
    g.expire(11 * SESSION)
    expect(g.hasMembers()).toBe(false)
  })

  it('refuses commits from non-owners, expired members, beyond delivery, and outsiders while members exist', () => {
    const g = group(2)
    g.touch('a', ['t'], 0, SESSION)
    g.touch('b', ['t'], 0, SESSION)
    g.deliver('a', { topic: 't', partition: 0 }, 3, 0, VISIBILITY)
    expect(g.checkCommit('b', { topic: 't', partition: 0 }, 3).ok).toBe(false)
    expect(g.checkCommit('a', { topic: 't', partition: 0 }, 4).ok).toBe(false)
    expect(g.checkCommit('zz', { topic: 't', partition: 0 }, 1).ok).toBe(false)
    expect(g.checkCommit(null, { topic: 't', partition: 0 }, 1).ok).toBe(false)
    g.leave('a')
    g.leave('b')
    expect(g.checkCommit(null, { topic: 't', partition: 0 }, 1).ok).toBe(true)
  })

  it('reports members with their assignment and in-flight counts', () => {
    const g = group(2)
    g.touch('a', ['t'], 5, SESSION)
    g.deliver('a', { topic: 't', partition: 1 }, 4, 5, VISIBILITY)
    expect(g.describeMembers()).toEqual([
      { memberId: 'a', topics: ['t'], lastSeenAt: 5, inFlightRecords: 4, assignments: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }] },
    ])
  })
})
