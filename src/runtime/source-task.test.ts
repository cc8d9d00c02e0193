import { describe, expect, it, vi } from 'vitest'
import type { SnapshotChannel } from '../connectors/snapshot-run.js'
import type { SourceConnector, SourceMetrics, TaskLogger } from '../connectors/source.js'
import type { TopicLog } from '../log/topic-log.js'
import { SourceTask } from './source-task.js'

/**
 * A connector that reports running and then fails at once, `runs` times; the task's log says which backoff attempt
 * each failure was. (A pure state machine: the connector, log and store are never touched.)
 */
async function attemptsOf(stableRunMs: number, runs = 5): Promise<number[]> {
  const attempts: number[] = []
  let started = 0
  let task: SourceTask | undefined
  const connector = {
    code: 'fake',
    async run(context: { onRunning(): void }) {
      started++
      context.onRunning()
      if (started >= runs) void task?.stop()
      throw new Error(`failure ${started}`)
    },
  } as unknown as SourceConnector
  const logger = {
    info() {},
    debug() {},
    error() {},
    warn(obj: { attempt?: number }) {
      if (obj.attempt !== undefined) attempts.push(obj.attempt)
    },
  } as unknown as TaskLogger
  task = new SourceTask({
    sourceId: 's1', config: {}, connector, log: {} as TopicLog, offsets: {} as never, metrics: {} as SourceMetrics, logger,
    snapshots: {} as SnapshotChannel, onStatus() {}, onWarning() {},
    retriableBackoff: { initialMs: 1, maxMs: 4 }, stableRunMs,
  })
  task.start()
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (task?.stopping) {
        clearInterval(check)
        resolve()
      }
    }, 1)
  })
  await task.stop()
  return attempts
}

describe('SourceTask', () => {
  it('keeps backing off a connector that fails soon after each start, instead of starting over each time', async () => {
    expect(await attemptsOf(60_000)).toEqual([0, 1, 2, 3])
  })

  it('starts the backoff over after a run that lasted', async () => {
    expect(await attemptsOf(0)).toEqual([0, 0, 0, 0])
  })

  it('warns while a connector takes more than ten seconds to stop, and no longer once it has', async () => {
    vi.useFakeTimers()
    try {
      let finish: () => void = () => undefined
      const connector = {
        code: 'fake',
        run: (context: { onRunning(): void }) => {
          context.onRunning()
          return new Promise<void>((resolve) => {
            finish = resolve
          })
        },
      } as unknown as SourceConnector
      const warnings: Array<{ msg: string; waited: number }> = []
      const logger = { info() {}, debug() {}, error() {}, warn: (obj: { waited_ms: number }, msg: string) => void warnings.push({ msg, waited: obj.waited_ms }) } as unknown as TaskLogger
      const task = new SourceTask({
        sourceId: 's1', config: {}, connector, log: {} as TopicLog, offsets: {} as never, metrics: {} as SourceMetrics, logger,
        snapshots: {} as SnapshotChannel, onStatus() {}, onWarning() {},
      })
      task.start()
      const stopped = task.stop()
      await vi.advanceTimersByTimeAsync(9_000)
      expect(warnings).toEqual([])
      await vi.advanceTimersByTimeAsync(12_000)
      expect(warnings).toEqual([{ msg: 'source task is slow to stop', waited: 10_000 }, { msg: 'source task is slow to stop', waited: 20_000 }])
      finish()
      await stopped
      await vi.advanceTimersByTimeAsync(30_000)
      expect(warnings).toHaveLength(2)
    } finally {
      vi.useRealTimers()
    }
  })
})
