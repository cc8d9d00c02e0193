/**
 * Runs the snapshot runs of a streaming source, one at a time, oldest first. A blocking run asks streaming to pause
 * (and waits until it has, at a transaction boundary), reads its tables under a new consistent snapshot, then lets
 * streaming resume from where it paused. Incremental runs go to the DBLog runner, which never pauses streaming.
 * Wakes up when the API changes a run (and every few seconds, in case a wake-up raced with the check).
 */
import type { SnapshotChannel, SnapshotRun } from '../../snapshot-run.js'
import type { TaskLogger } from '../../source.js'
import type { StreamingControl } from '../streaming/streaming-control.js'
import { untilAborted, waitForWake } from './abortable.js'

const RECHECK_MS = 2000

export interface SnapshotCoordinatorOptions {
  channel: SnapshotChannel
  control: StreamingControl
  logger: TaskLogger
  signal: AbortSignal
  readBlocking(run: SnapshotRun): Promise<void>
  runIncremental(run: SnapshotRun): Promise<void>
}

export async function runSnapshotCoordinator(options: SnapshotCoordinatorOptions): Promise<void> {
  const { channel, control, logger, signal } = options
  while (!signal.aborted) {
    const [next] = await channel.active()
    if (!next) {
      await waitForWake((s) => channel.changed(s), RECHECK_MS, signal)
      continue
    }
    if (next.type === 'incremental') {
      await options.runIncremental(next)
      continue
    }
    logger.info({ snapshot_id: next.id, tables: next.tables.length }, 'blocking snapshot: pausing streaming')
    await untilAborted(control.requestPause(), signal)
    if (signal.aborted) return
    try {
      await options.readBlocking(next)
    } finally {
      control.resume()
      logger.info({ snapshot_id: next.id }, 'blocking snapshot: streaming resumed')
    }
  }
}
