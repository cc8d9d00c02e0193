/**
 * Waits that leave nothing behind. Snapshot loops wait on the task's long-lived signal once per chunk, and the
 * coordinator every few seconds for as long as the source streams; a listener left on the signal (or on the
 * snapshot notifier) by each wait would pile up for the task's whole life — a leak, and Node's
 * MaxListenersExceededWarning after ten of them.
 */
import { sleep } from '../../../util/backoff.js'

/** Waits for `promise` or an abort, whichever comes first. */
export async function untilAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  let onAbort: () => void = () => undefined
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Waits for a wake-up (`wake` listens until the signal it is given aborts), at most `ms`, or an abort of `signal`;
 * then ends whichever wait lost, so its listeners go.
 */
export async function waitForWake(wake: (signal: AbortSignal) => Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  const local = new AbortController()
  const stop = () => local.abort()
  signal.addEventListener('abort', stop, { once: true })
  try {
    await Promise.race([wake(local.signal), sleep(ms, local.signal)])
  } finally {
    signal.removeEventListener('abort', stop)
    local.abort()
  }
}
