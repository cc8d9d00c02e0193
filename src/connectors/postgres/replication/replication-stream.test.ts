import { once } from 'node:events'
import { Duplex } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConnectorError } from '../../connector-error.js'
import { createReplicationStream, type ReplicationStream } from './replication-stream.js'

/** Stands in for pg-copy-streams' CopyBoth duplex: frames pushed in, status updates captured. */
class FakeCopy extends Duplex {
  readonly written: Buffer[] = []
  constructor() {
    super({ readableObjectMode: true })
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.written.push(chunk)
    this.emit('status', chunk)
    callback()
  }
  xlog(walStart: bigint, tag = 'C'): void {
    const frame = Buffer.alloc(26)
    frame.write('w', 0, 'latin1')
    frame.writeBigUInt64BE(walStart, 1)
    frame.writeBigUInt64BE(walStart, 9)
    frame.write(tag, 25, 'latin1')
    this.push(frame)
  }
  keepalive(walEnd: bigint, replyRequested: boolean): void {
    const frame = Buffer.alloc(18)
    frame.write('k', 0, 'latin1')
    frame.writeBigUInt64BE(walEnd, 1)
    frame[17] = replyRequested ? 1 : 0
    this.push(frame)
  }
}

function status(buf: Buffer) {
  return { written: buf.readBigUInt64BE(1), flushed: buf.readBigUInt64BE(9), applied: buf.readBigUInt64BE(17) }
}

function setup(options: { statusIntervalMs?: number; receiveTimeoutMs?: number; signal?: AbortSignal } = {}) {
  const copy = new FakeCopy()
  let closed = 0
  const stream: ReplicationStream = createReplicationStream({
    copy,
    startLsn: 100n,
    closeConnection: async () => {
      closed += 1
    },
    statusIntervalMs: options.statusIntervalMs ?? 60_000,
    receiveTimeoutMs: options.receiveTimeoutMs,
    signal: options.signal,
  })
  return { copy, stream, iterator: stream[Symbol.asyncIterator](), closes: () => closed }
}

describe('replication stream', () => {
  it('yields frames in order and counts what is buffered', async () => {
    const { copy, stream, iterator } = setup()
    copy.xlog(200n, 'B')
    copy.keepalive(250n, false)
    copy.xlog(300n, 'C')
    expect(stream.stats).toMatchObject({ bufferedFrames: 3, bufferedBytes: 26 + 18 + 26, peakBufferedBytes: 70 })
    expect((await iterator.next()).value).toMatchObject({ kind: 'xlogdata', walStart: 200n })
    expect((await iterator.next()).value).toMatchObject({ kind: 'keepalive', walEnd: 250n })
    expect((await iterator.next()).value).toMatchObject({ kind: 'xlogdata', walStart: 300n })
    expect(stream.stats).toMatchObject({ bufferedFrames: 0, bufferedBytes: 0, peakBufferedBytes: 70 })
    await stream.close()
  })

  it('coalesces acknowledgements into one status update with flush = exactly the LSN', async () => {
    const { copy, stream, iterator } = setup()
    copy.xlog(300n)
    copy.xlog(400n)
    await iterator.next()
    await iterator.next()
    stream.acknowledge(150n)
    stream.acknowledge(300n)
    stream.acknowledge(200n)
    const [buf] = (await once(copy, 'status')) as [Buffer]
    expect(status(buf)).toEqual({ written: 400n, flushed: 300n, applied: 300n })
    expect(copy.written).toHaveLength(1)
    expect(stream.stats.reportedFlushLsn).toBe(300n)
    await stream.close()
  })

  it('refuses to acknowledge beyond what was received', async () => {
    const { copy, stream, iterator } = setup()
    stream.acknowledge(100n) // the start position is always allowed
    expect(() => stream.acknowledge(101n)).toThrow(RangeError)
    copy.keepalive(500n, false)
    await iterator.next()
    stream.acknowledge(500n) // a keepalive's position counts as received
    await stream.close()
  })

  it('answers a keepalive that requests a reply at once, and reports periodically', async () => {
    const { copy, stream, iterator } = setup({ statusIntervalMs: 10 })
    copy.keepalive(700n, true)
    await iterator.next()
    expect(copy.written).toHaveLength(1)
    expect(status(copy.written[0])).toEqual({ written: 700n, flushed: 0n, applied: 0n })
    await once(copy, 'status')
    expect(copy.written.length).toBeGreaterThanOrEqual(2)
    await stream.close()
  })

  it('ends iteration on abort and closes the connection', async () => {
    const controller = new AbortController()
    const { stream, iterator, closes } = setup({ signal: controller.signal })
    const pending = iterator.next()
    controller.abort()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(closes()).toBe(1)
    await stream.close()
    expect(closes()).toBe(1)
  })

  it('rejects with a retriable error when the server ends the stream', async () => {
    const { copy, iterator, closes } = setup()
    copy.xlog(300n)
    copy.push(null)
    expect((await iterator.next()).done).toBe(false)
    const error = await iterator.next().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConnectorError)
    expect(error).toMatchObject({ kind: 'connection', retriable: true })
    expect(closes()).toBe(1)
  })

  it('classifies server errors: a missing slot is permanent, a lost socket is not', async () => {
    const missing = setup()
    const serverError = new Error('replication slot "x" does not exist')
    missing.copy.destroy(Object.assign(serverError, { code: '42704', severity: 'ERROR' }))
    await expect(missing.iterator.next()).rejects.toMatchObject({ kind: 'slot_missing', retriable: false })

    const reset = setup()
    reset.copy.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
    await expect(reset.iterator.next()).rejects.toMatchObject({ kind: 'connection', retriable: true })

    const pipe = setup()
    pipe.copy.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    await expect(pipe.iterator.next()).rejects.toMatchObject({ kind: 'connection', retriable: true })
  })

  describe('liveness (receiveTimeoutMs)', () => {
    afterEach(() => {
      vi.useRealTimers()
    })
    const replyRequested = (buf: Buffer) => buf[33] === 1

    it('asks the server for a message after a quarter of the timeout of silence, and fails retriably after all of it', async () => {
      vi.useFakeTimers()
      const { copy, iterator, closes } = setup({ receiveTimeoutMs: 1000 })
      const pending = iterator.next()
      const failure = pending.catch((error: unknown) => error)
      await vi.advanceTimersByTimeAsync(200)
      expect(copy.written.filter(replyRequested)).toHaveLength(0)
      await vi.advanceTimersByTimeAsync(200)
      expect(copy.written.filter(replyRequested).length).toBeGreaterThan(0)
      await vi.advanceTimersByTimeAsync(700)
      const error = await failure
      expect(error).toBeInstanceOf(ConnectorError)
      expect((error as ConnectorError).retriable).toBe(true)
      expect((error as Error).message).toMatch(/no message from the server for 1 s/)
      expect(closes()).toBe(1)
    })

    it('counts silence from the last message the server sent', async () => {
      vi.useFakeTimers()
      const { copy, iterator } = setup({ receiveTimeoutMs: 1000 })
      let failed = false
      const drain = (async () => {
        try {
          for (;;) await iterator.next()
        } catch {
          failed = true
        }
      })()
      for (let i = 0; i < 5; i++) {
        await vi.advanceTimersByTimeAsync(800)
        copy.keepalive(100n, false)
      }
      expect(failed).toBe(false)
      await vi.advanceTimersByTimeAsync(1200)
      expect(failed).toBe(true)
      await drain
    })

    it('does not count time while the consumer leaves the buffer full (Sluice is not reading then)', async () => {
      vi.useFakeTimers()
      const { copy, iterator } = setup({ receiveTimeoutMs: 1000 })
      for (let i = 0; i < copy.readableHighWaterMark; i++) copy.xlog(200n + BigInt(i))
      await vi.advanceTimersByTimeAsync(5000)
      for (let i = 0; i < copy.readableHighWaterMark; i++) expect((await iterator.next()).done).toBe(false)
      const next = iterator.next().catch((error: unknown) => error)
      await vi.advanceTimersByTimeAsync(1200)
      expect(await next).toBeInstanceOf(ConnectorError)
    })

    it('never fails with 0', async () => {
      vi.useFakeTimers()
      const { copy, closes } = setup({ receiveTimeoutMs: 0 })
      await vi.advanceTimersByTimeAsync(10 * 60_000)
      expect(copy.written.filter(replyRequested)).toHaveLength(0)
      expect(closes()).toBe(0)
      expect(vi.getTimerCount()).toBe(1) // the status timer only
    })
  })
})
