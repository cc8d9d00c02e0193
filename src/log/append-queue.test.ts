import { describe, expect, it } from 'vitest'
import { AppendQueue } from './append-queue.js'

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('AppendQueue', () => {
  it('runs queued work in order, even when an earlier one is slower', async () => {
    const queue = new AppendQueue()
    const ran: number[] = []
    await Promise.all([
      queue.run(async () => { await later(20); ran.push(1) }),
      queue.run(async () => { ran.push(2) }),
      queue.run(async () => { ran.push(3) }),
    ])
    expect(ran).toEqual([1, 2, 3])
  })

  it('fails everything queued after a failure, with the first error', async () => {
    const queue = new AppendQueue()
    const ran: string[] = []
    const first = queue.run(async () => { throw new Error('disk full') })
    const second = queue.run(async () => { ran.push('second') })
    await expect(first).rejects.toThrow('disk full')
    await expect(second).rejects.toThrow('disk full')
    await expect(queue.drained()).rejects.toThrow('disk full')
    expect(ran).toEqual([])
  })

  it('runAhead returns once the work before it is done, while its own still runs', async () => {
    const queue = new AppendQueue()
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    let secondDone = false
    await queue.runAhead(async () => { await gate })
    // The first batch is still in flight: queuing the second waits for it.
    const second = queue.runAhead(async () => { secondDone = true })
    let returned = false
    void second.then(() => { returned = true })
    await later(10)
    expect(returned).toBe(false)
    release()
    await second
    await queue.drained()
    expect(secondDone).toBe(true)
  })

  it('runAhead with several in flight returns at once until that many are, then waits for the oldest', async () => {
    const queue = new AppendQueue(3)
    const gates = [0, 1, 2, 3].map(() => {
      let release!: () => void
      const gate = new Promise<void>((resolve) => { release = resolve })
      return { gate, release }
    })
    const finished: number[] = []
    for (const i of [0, 1, 2]) {
      await queue.runAhead(async () => { await gates[i].gate; finished.push(i) })
    }
    // Three in flight: the fourth waits for the first.
    let returned = false
    const fourth = queue.runAhead(async () => { await gates[3].gate; finished.push(3) }).then(() => { returned = true })
    await later(10)
    expect(returned).toBe(false)
    gates[0].release()
    await fourth
    expect(finished).toEqual([0])
    for (const { release } of gates) release()
    await queue.drained()
    expect(finished).toEqual([0, 1, 2, 3])
  })
})
