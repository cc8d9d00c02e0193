/**
 * Shared bits of the replication integration tests: minimal readers of the pgoutput fields the tests check (the
 * full decoder lives in pgoutput/), and a frame collector over a ReplicationStream.
 */
import type { ReplicationFrame, XLogData } from '../../src/connectors/postgres/replication/replication-frames.js'
import type { ReplicationStream } from '../../src/connectors/postgres/replication/replication-stream.js'

export const PGOUTPUT_TAGS = new Set(['B', 'R', 'I', 'U', 'D', 'C', 'M', 'O', 'Y', 'T'])

export function tagOf(frame: XLogData): string {
  return String.fromCharCode(frame.data[0])
}

/** Commit: 'C', flags (1), commit LSN (8), end LSN (8), timestamp (8). */
export function commitEndLsn(frame: XLogData): bigint {
  return frame.data.readBigUInt64BE(10)
}

/** Message: 'M', flags (1), LSN (8), prefix (C string), length (4), content. */
export function logicalMessage(frame: XLogData): { transactional: boolean; prefix: string; content: string } {
  const end = frame.data.indexOf(0, 10)
  const prefix = frame.data.toString('utf8', 10, end)
  const length = frame.data.readInt32BE(end + 1)
  const content = frame.data.toString('utf8', end + 5, end + 5 + length)
  return { transactional: frame.data[1] === 1, prefix, content }
}

export interface Transaction {
  tags: string[]
  frames: XLogData[]
  endLsn: bigint
  text: string
}

/** Pulls frames until `count` transactions have committed; keepalives are skipped. */
export async function readTransactions(
  iterator: AsyncIterator<ReplicationFrame>,
  count: number,
): Promise<Transaction[]> {
  const done: Transaction[] = []
  let current: XLogData[] = []
  while (done.length < count) {
    const next = await iterator.next()
    if (next.done) throw new Error(`stream ended after ${done.length} of ${count} transactions`)
    if (next.value.kind !== 'xlogdata') continue
    const frame = next.value
    if (tagOf(frame) === 'M' && !logicalMessage(frame).transactional) continue
    current.push(frame)
    if (tagOf(frame) === 'C') {
      done.push({
        tags: current.map(tagOf),
        frames: current,
        endLsn: commitEndLsn(frame),
        text: current.map((f) => f.data.toString('latin1')).join(''),
      })
      current = []
    }
  }
  return done
}

/** Pulls frames until one matches. */
export async function readUntil(
  iterator: AsyncIterator<ReplicationFrame>,
  match: (frame: ReplicationFrame) => boolean,
): Promise<ReplicationFrame> {
  for (;;) {
    const next = await iterator.next()
    if (next.done) throw new Error('stream ended before the expected frame')
    if (match(next.value)) return next.value
  }
}

export function iterate(stream: ReplicationStream): AsyncIterator<ReplicationFrame> {
  return stream[Symbol.asyncIterator]()
}
