/** The record shapes shared by the crash writer (child process) and the crash test that checks its output. */

export const CRASH_TOPIC = 'crash'
/** A compacted topic the writer also appends to while compaction runs, to check the latest value per key. */
export const COMPACT_TOPIC = 'crash-compact'

export interface CrashAck {
  batch: number
  startSeq: number
  /** [partition, offset] of each CRASH_TOPIC record of the batch, in append order (seq = startSeq + index). */
  offsets: Array<[number, number]>
}

export function crashKey(seq: number): Buffer {
  return Buffer.from(`key-${seq % 97}`)
}

/** Long enough, and varied enough in length, that some records span several SQLite pages. */
export function crashValue(runId: string, seq: number): Buffer {
  return Buffer.from(`${runId}:${seq}:${'v'.repeat((seq * 31) % 700)}`)
}

/**
 * `crashValue` as the writer appends it: every third seq's value framed (topic-log.ts ValueFrame), the run id as the
 * frame's prefix, shared by all of them, and the rest as the record's own bytes; a read must return the whole value.
 */
export function crashAppendValue(runId: string, seq: number, frame: { prefix: Buffer; suffix: Buffer }): { value: Buffer; frame?: { prefix: Buffer; suffix: Buffer } } {
  const value = crashValue(runId, seq)
  if (seq % 3 !== 0) return { value }
  return { value: value.subarray(frame.prefix.length, value.length - frame.suffix.length), frame }
}

/** The frame the writer shares between its framed values. */
export function crashFrame(runId: string): { prefix: Buffer; suffix: Buffer } {
  return { prefix: Buffer.from(`${runId}:`), suffix: Buffer.alloc(0) }
}

/** Every fourth seq also writes its key of the compacted topic (50 keys, so they are superseded often). */
export function compactKeyFor(seq: number): Buffer | null {
  return seq % 4 === 0 ? Buffer.from(`ck-${(seq / 4) % 50}`) : null
}
