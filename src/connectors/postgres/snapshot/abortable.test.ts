import { EventEmitter, getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { untilAborted, waitForWake } from './abortable.js'

/** The shape of the snapshot notifier's wait: listens until woken or until its signal aborts. */
function createWaker() {
  const emitter = new EventEmitter()
  const next = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        emitter.off('wake', done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      emitter.on('wake', done)
      signal.addEventListener('abort', done, { once: true })
    })
  return { emitter, next, wake: () => emitter.emit('wake') }
}

describe('snapshot waits', () => {
  it('untilAborted leaves no abort listener behind, however many times it waits', async () => {
    const controller = new AbortController()
    for (let i = 0; i < 50; i++) await untilAborted(Promise.resolve(), controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    const pending = untilAborted(new Promise(() => undefined), controller.signal)
    controller.abort()
    await pending
  })

  it('waitForWake ends the losing wait: no listener stays on the signal or the waker', async () => {
    const controller = new AbortController()
    const waker = createWaker()
    for (let i = 0; i < 20; i++) await waitForWake(waker.next, 1, controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    expect(waker.emitter.listenerCount('wake')).toBe(0)
    const woken = waitForWake(waker.next, 60_000, controller.signal)
    waker.wake()
    await woken
    const aborted = waitForWake(waker.next, 60_000, controller.signal)
    controller.abort()
    await aborted
  })
})
