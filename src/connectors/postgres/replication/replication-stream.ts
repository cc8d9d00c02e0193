/**
 * The streaming phase's transport: reads the CopyBoth stream of a `START_REPLICATION` frame by frame and sends
 * standby status updates. Frames are yielded in server order: XLogData (one pgoutput message each) and primary
 * keepalives, so a consumer that knows transaction boundaries can acknowledge a keepalive's `walEnd` when it holds
 * nothing undurable (that lets the slot advance over WAL with no published changes, and lets a server shut down:
 * its walsender waits until the flush position reaches what it sent).
 *
 * Acknowledgement (DESIGN.md guarantee 1): `acknowledge(lsn)` records the highest LSN whose events are durable
 * downstream. Status updates report flush = applied = exactly that LSN (never LSN+1, never anything higher), and
 * written = the highest LSN received. They go out on acknowledge (coalesced to one per event-loop turn), every
 * `statusIntervalMs`, and at once when a keepalive the consumer reads asks for a reply. The timer keeps the server's
 * `wal_sender_timeout` satisfied even while the consumer is stalled; the price is that a consumer which stops
 * reading for good also holds up a server shutdown (the walsender cannot finish sending), so stalls must end or
 * the stream must be closed.
 *
 * Backpressure: frames are pulled only as the consumer iterates. The copy stream's readable side holds at most
 * `highWaterMarkFrames` frames plus the frames of one socket read; beyond that it stops reading the socket, TCP
 * fills, and the walsender blocks. `stats` exposes the buffered bytes so tests can check the bound.
 *
 * Liveness (like a standby's `wal_receiver_timeout`): a server that stops answering (a hung host, a network that drops
 * packets without resetting the connection) would otherwise look like an idle one for ever, since the status updates
 * keep the walsender from sending keepalives of its own. After a quarter of `receiveTimeoutMs` without a message the
 * stream asks for one (a status update with replyRequested, which a live walsender answers at once); after all of it
 * the stream fails with a retriable ConnectorError, so the source reports why and reconnects. Time while the
 * consumer holds the buffer full does not count: then it is Sluice that is not reading.
 *
 * Crash behaviour: nothing is persisted here. Connection loss, a server shutdown or a slot held elsewhere reject the
 * iteration with a `ConnectorError` (retriable when reconnecting can help); the caller restarts from its durable
 * offset, and the slot, which was only ever confirmed up to durable events, replays the rest. `close()` or the abort
 * signal ends iteration (`done`) and the connection within milliseconds.
 */
import type { Duplex } from 'node:stream'
import { ConnectorError } from '../../connector-error.js'
import { formatLsn, type Lsn, maxLsn, ZERO_LSN } from './lsn.js'
import { toConnectorError } from './replication-errors.js'
import { encodeStandbyStatus, parseFrame, pgEpochMicros, type ReplicationFrame } from './replication-frames.js'

export const DEFAULT_STATUS_INTERVAL_MS = 10_000
export const DEFAULT_RECEIVE_TIMEOUT_MS = 60_000
export const DEFAULT_HIGH_WATER_MARK_FRAMES = 256

export interface ReplicationStreamStats {
  /** Frames and bytes received from the socket and not yet taken by the consumer. */
  bufferedFrames: number
  bufferedBytes: number
  /** The most `bufferedBytes` ever reached: what backpressure bounds. */
  peakBufferedBytes: number
  /** The LSN last reported as flushed to the server (0 = nothing yet). */
  reportedFlushLsn: Lsn
}

export interface ReplicationStream extends AsyncIterable<ReplicationFrame> {
  /** Records that every change up to and including `lsn` is durable downstream; the slot may advance to it. */
  acknowledge(lsn: Lsn): void
  /** Ends the COPY and the connection; pending and later iterations finish with `done`. Idempotent. */
  close(): Promise<void>
  /**
   * A frame already received, taken without waiting, or null when none is buffered (or an iteration is in progress,
   * or the stream has ended or failed: iterate to learn which). A busy consumer saves several promises per frame.
   */
  takeBuffered(): ReplicationFrame | null
  readonly stats: ReplicationStreamStats
}

export interface ReplicationStreamOptions {
  /** The CopyBoth stream (readable side in object mode: one CopyData payload per chunk). */
  copy: Duplex
  /** The LSN replication started from; acknowledging up to it is always allowed. */
  startLsn: Lsn
  /** Tears down the underlying connection. */
  closeConnection: () => Promise<void>
  statusIntervalMs?: number
  /** Silence from the server after which the stream fails (see Liveness above); 0 never. Default 60 s. */
  receiveTimeoutMs?: number
  signal?: AbortSignal
}

export function createReplicationStream(options: ReplicationStreamOptions): ReplicationStream {
  return new CopyBothReplicationStream(options)
}

class CopyBothReplicationStream implements ReplicationStream {
  private readonly copy: Duplex
  private readonly closeConnection: () => Promise<void>
  private readonly startLsn: Lsn
  private received: Lsn = ZERO_LSN
  private acknowledged: Lsn = ZERO_LSN
  private reported: Lsn = ZERO_LSN
  private bufferedFrames = 0
  private bufferedBytes = 0
  private peakBufferedBytes = 0
  private failure: ConnectorError | undefined
  private closing: Promise<void> | undefined
  private statusScheduled = false
  private wake: (() => void) | undefined
  private pulling: Promise<unknown> = Promise.resolve()
  private pullsInFlight = 0
  private readonly timer: NodeJS.Timeout
  private readonly liveness: NodeJS.Timeout | undefined
  /** Frames received so far; compared at each liveness check rather than timing each frame (a hot path). */
  private framesReceived = 0
  private framesAtLastCheck = 0
  /** When a check last found the server had sent something (or the consumer held the buffer full, see Liveness). */
  private lastHeardMs = Date.now()
  private readonly signal: AbortSignal | undefined
  private readonly onAbort = (): void => void this.close()

  constructor(options: ReplicationStreamOptions) {
    this.copy = options.copy
    this.closeConnection = options.closeConnection
    this.startLsn = options.startLsn
    this.signal = options.signal
    this.countPushes()
    const notify = (): void => this.notify()
    this.copy.on('readable', notify)
    this.copy.on('end', () => this.fail(endedByServer()))
    this.copy.on('error', (error: unknown) => this.fail(toConnectorError(error, 'replication stream')))
    this.copy.on('close', notify)
    this.timer = setInterval(() => this.sendStatus(), options.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS)
    this.timer.unref()
    const receiveTimeoutMs = options.receiveTimeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS
    if (receiveTimeoutMs > 0) {
      this.liveness = setInterval(() => this.checkLiveness(receiveTimeoutMs), Math.max(100, receiveTimeoutMs / 8))
      this.liveness.unref()
    }
    if (this.signal?.aborted) void this.close()
    else this.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  get stats(): ReplicationStreamStats {
    return {
      bufferedFrames: this.bufferedFrames,
      bufferedBytes: this.bufferedBytes,
      peakBufferedBytes: this.peakBufferedBytes,
      reportedFlushLsn: this.reported,
    }
  }

  acknowledge(lsn: Lsn): void {
    const limit = maxLsn(this.received, this.startLsn)
    if (lsn > limit) {
      // Confirming WAL we never received would let the server discard changes nobody has seen.
      throw new RangeError(`cannot acknowledge ${formatLsn(lsn)}: only received up to ${formatLsn(limit)}`)
    }
    if (lsn <= this.acknowledged) return
    this.acknowledged = lsn
    if (this.statusScheduled) return
    this.statusScheduled = true
    setImmediate(() => {
      this.statusScheduled = false
      if (this.acknowledged > this.reported) this.sendStatus()
    })
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  [Symbol.asyncIterator](): AsyncIterator<ReplicationFrame> {
    return {
      next: () => {
        // One pull at a time, so frames come out in server order even if the consumer overlaps calls.
        this.pullsInFlight++
        const result = this.pulling.then(() => this.pull()).finally(() => this.pullsInFlight--)
        this.pulling = result.catch(() => undefined)
        return result
      },
      return: async () => {
        await this.close()
        return { done: true, value: undefined }
      },
    }
  }

  takeBuffered(): ReplicationFrame | null {
    if (this.closing || this.failure || this.pullsInFlight > 0) return null
    const chunk = this.copy.read() as Buffer | null
    return chunk === null ? null : this.take(chunk)
  }

  private async pull(): Promise<IteratorResult<ReplicationFrame>> {
    for (;;) {
      if (this.closing) return { done: true, value: undefined }
      if (this.failure) throw this.failure
      const chunk = this.copy.read() as Buffer | null
      if (chunk !== null) return { done: false, value: this.take(chunk) }
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    }
  }

  private take(chunk: Buffer): ReplicationFrame {
    this.bufferedFrames -= 1
    this.bufferedBytes -= chunk.length
    let frame: ReplicationFrame
    try {
      frame = parseFrame(chunk)
    } catch (error) {
      const failure = new ConnectorError('protocol', `replication stream: ${(error as Error).message}`, {
        retriable: true,
        cause: error,
      })
      this.fail(failure)
      throw failure
    }
    this.received = maxLsn(this.received, frame.walEnd)
    if (frame.kind === 'keepalive' && frame.replyRequested) this.sendStatus()
    return frame
  }

  private sendStatus(replyRequested = false): void {
    if (this.closing || this.failure || !this.copy.writable) return
    const flushed = this.acknowledged
    this.copy.write(
      encodeStandbyStatus({
        written: maxLsn(this.received, flushed),
        flushed,
        applied: flushed,
        clientTime: pgEpochMicros(),
        replyRequested,
      }),
    )
    this.reported = flushed
  }

  private checkLiveness(timeoutMs: number): void {
    const now = Date.now()
    if (this.framesReceived !== this.framesAtLastCheck || this.copy.readableLength >= this.copy.readableHighWaterMark) {
      this.framesAtLastCheck = this.framesReceived
      this.lastHeardMs = now
    }
    const silentMs = now - this.lastHeardMs
    if (silentMs >= timeoutMs) {
      this.fail(new ConnectorError('connection',
        `replication stream: no message from the server for ${Math.round(silentMs / 1000)} s (replication.timeout.ms ${timeoutMs}); the server or the network stopped answering`,
        { retriable: true }))
    } else if (silentMs >= timeoutMs / 4) {
      this.sendStatus(true)
    }
  }

  private fail(failure: ConnectorError): void {
    if (this.closing || this.failure) return
    this.failure = failure
    this.stop()
    this.notify()
    void this.closeConnection().catch(() => undefined)
  }

  private async shutdown(): Promise<void> {
    // A clean close reports the last acknowledgement first, so a restart does not replay what is already durable.
    const final = this.acknowledged > this.reported && !this.failure ? this.writeStatus() : Promise.resolve()
    this.stop()
    await Promise.race([final, new Promise((resolve) => setTimeout(resolve, 1000).unref())])
    this.notify()
    await this.closeConnection().catch(() => undefined)
  }

  /** Sends a status update and resolves when it has been handed to the socket. */
  private writeStatus(): Promise<void> {
    if (!this.copy.writable) return Promise.resolve()
    const flushed = this.acknowledged
    this.reported = flushed
    return new Promise((resolve) => {
      this.copy.write(
        encodeStandbyStatus({ written: maxLsn(this.received, flushed), flushed, applied: flushed, clientTime: pgEpochMicros(), replyRequested: false }),
        () => resolve(),
      )
    })
  }

  private stop(): void {
    clearInterval(this.timer)
    clearInterval(this.liveness)
    this.signal?.removeEventListener('abort', this.onAbort)
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Counts what pg-copy-streams pushes into the readable buffer, which Node does not expose in bytes. */
  private countPushes(): void {
    const push = this.copy.push.bind(this.copy)
    this.copy.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (Buffer.isBuffer(chunk)) {
        this.framesReceived += 1
        this.bufferedFrames += 1
        this.bufferedBytes += chunk.length
        if (this.bufferedBytes > this.peakBufferedBytes) this.peakBufferedBytes = this.bufferedBytes
      }
      return push(chunk, encoding)
    }
  }
}

function endedByServer(): ConnectorError {
  return new ConnectorError('connection', 'replication stream: the server ended the stream (shutting down?)', {
    retriable: true,
  })
}
