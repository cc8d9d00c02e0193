/**
 * Polls a condition until it holds (tests wait on state, never on sleeps). Fails with the last observed value
 * after a generous timeout, so a hang becomes a readable assertion failure.
 */
export interface WaitForOptions {
  timeoutMs?: number
  intervalMs?: number
  message?: string
}

export async function waitFor<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  options: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    const value = await probe()
    if (accept(value)) return value
    if (Date.now() > deadline) {
      throw new Error(`${options.message ?? 'condition'} not reached; last value: ${describe(value)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25))
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v))
  } catch {
    return String(value)
  }
}
