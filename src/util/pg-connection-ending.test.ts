import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CLOSE_GRACE_MS, settledWithin } from './pg-connection-ending.js'

describe('settledWithin', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const state = (promise: Promise<void>) => {
    const seen = { done: false }
    void promise.then(() => (seen.done = true))
    return seen
  }

  it('resolves as soon as the work resolves or rejects', async () => {
    const resolved = state(settledWithin(Promise.resolve('ok')))
    const rejected = state(settledWithin(Promise.reject(new Error('server gone'))))
    await vi.advanceTimersByTimeAsync(0)
    expect(resolved.done).toBe(true)
    expect(rejected.done).toBe(true)
  })

  it('gives up on work that never settles after the grace, and not before', async () => {
    const never = state(settledWithin(new Promise(() => {})))
    await vi.advanceTimersByTimeAsync(CLOSE_GRACE_MS - 1)
    expect(never.done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(never.done).toBe(true)
  })

  it('leaves no timer behind once the work has settled', async () => {
    await settledWithin(Promise.resolve())
    expect(vi.getTimerCount()).toBe(0)
  })
})
