/**
 * Child process for log-crash.it.test.ts: appends batches to topic 'crash' (3 partitions) and the compacted topic
 * 'crash-compact' in a loop, runs retention (so compaction) concurrently every few batches, and prints one JSON
 * line per acknowledged (resolved) append, until it is killed. Never exits on its own except after a safety
 * deadline. Args: <dir> <runId> <fsync: always|never> [threaded|pipelined] (the log on its worker thread, as Sluice
 * runs it; `pipelined`: with three appends in flight, as a snapshot makes them, which the worker commits together).
 *
 * Every record is self-describing so the test can check it after the crash: key `key-<seq % 97>`, value
 * `crashValue(runId, seq)` (every third one stored with a value frame), header `seq`. Every other batch goes as a
 * RecordBatch without headers, the packed append snapshots and streaming make (stored in format 3, its bytes in
 * segment files), the others as records with headers (format 2).
 */
import { createEmbeddedTopicLog } from '../../../src/log/embedded/embedded-topic-log.js'
import { createThreadedTopicLog } from '../../../src/log/threaded/threaded-topic-log.js'
import { RecordBatch } from '../../../src/log/record-batch.js'
import type { AppendRecord } from '../../../src/log/topic-log.js'
import { COMPACT_TOPIC, CRASH_TOPIC, type CrashAck, compactKeyFor, crashAppendValue, crashFrame, crashKey } from './crash-records.js'

const [dir, runId, fsync, mode] = process.argv.slice(2)
const open = mode === 'threaded' || mode === 'pipelined' ? createThreadedTopicLog : createEmbeddedTopicLog
const log = await open({ dir, fsync: fsync === 'never' ? 'never' : 'always' })
await log.createTopic(CRASH_TOPIC, { partitions: 3 })
await log.createTopic(COMPACT_TOPIC, { partitions: 2, cleanupPolicy: 'compact' })
setTimeout(() => process.exit(3), 100_000).unref()

const frame = crashFrame(runId)
let seq = 0
/** The last acknowledgement, and those not yet waited for (`pipelined`: up to three appends in flight). */
let acked: Promise<void> = Promise.resolve()
const inFlight: Array<Promise<void>> = []
for (let batch = 0; ; batch++) {
  // Varying sizes move the kill point around within and between appends.
  const count = 1 + ((batch * 7919) % 400)
  const packed = batch % 2 === 1
  const records: AppendRecord[] = []
  for (let i = 0; i < count; i++) {
    const s = seq + i
    records.push({ topic: CRASH_TOPIC, key: crashKey(s), ...crashAppendValue(runId, s, frame), ...(packed ? {} : { headers: { seq: String(s) } }) })
  }
  for (let i = 0; i < count; i++) {
    const key = compactKeyFor(seq + i)
    if (key !== null) records.push({ topic: COMPACT_TOPIC, key, ...crashAppendValue(runId, seq + i, frame) })
  }
  if (batch % 5 === 0) {
    // Not awaited: the pass runs in batches between the appends below, and the kill may land inside it.
    log.enforceRetention().catch((err: unknown) => {
      console.error(err)
      process.exit(2)
    })
  }
  // Acknowledged in order, once resolved: after the acknowledgements before it.
  const startSeq = seq
  acked = Promise.all([log.append(packed ? RecordBatch.of(records) : records), acked]).then(([results]) => {
    const offsets = results.slice(0, count).map((r): [number, number] => [r.partition, r.offset])
    const ack: CrashAck = { batch, startSeq, offsets }
    process.stdout.write(`${JSON.stringify(ack)}\n`)
  })
  acked.catch((err: unknown) => {
    console.error(err)
    process.exit(2)
  })
  seq += count
  inFlight.push(acked)
  if (inFlight.length >= (mode === 'pipelined' ? 3 : 1)) await inFlight.shift()
}
