/**
 * The worker-thread side of ThreadedTopicLog: owns the embedded log (its SQLite connection, retention timer and
 * in-memory offsets) and answers its calls. Each call starts as its message arrives; the embedded log's methods do
 * their SQLite work synchronously on entry, so appends are written in the order they were made, and a long
 * retention pass (which yields between batches) never holds appends back.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { TOPIC_CHANGES } from '../embedded/append-waiters.js'
import { createEmbeddedTopicLog, type EmbeddedTopicLog, type TopicLogLogger } from '../embedded/embedded-topic-log.js'
import type { TopicLog } from '../topic-log.js'
import type { CallMessage, WorkerMessage, WorkerOptions } from './protocol.js'
import type { PackedRecords } from '../record-batch.js'
import { toWireError, transferablesOf } from './wire.js'

if (parentPort === null) throw new Error('log-worker.ts runs only as a worker thread')
const port: MessagePort = parentPort
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer)

/** Log lines go to the main thread's logger; errors travel as plain objects. */
function forwardingLogger(): TopicLogLogger {
  const send = (level: 'info' | 'error') => (obj: object, msg?: string) => {
    const plain: Record<string, unknown> = { ...obj }
    if ('err' in plain) plain.err = toWireError(plain.err)
    post({ kind: 'log', level, obj: plain, msg })
  }
  return { info: send('info'), error: send('error') }
}

async function handle(log: EmbeddedTopicLog, call: CallMessage): Promise<void> {
  try {
    if (call.method === 'read') {
      const [topic, partition, fromOffset, options] = call.args as Parameters<TopicLog['read']>
      const packed = await log.readPacked(topic, partition, fromOffset, options)
      post({ kind: 'result', id: call.id, value: null, packed }, transferablesOf(packed))
      return
    }
    const method = log[call.method] as (...args: unknown[]) => Promise<unknown>
    const value = await method.apply(log, call.args)
    // Before the result: a waiter that starts once the call returned must not be woken by the call's own notice.
    if (call.method === 'createTopic') post({ kind: 'appended', topics: [TOPIC_CHANGES] })
    if (call.method === 'deleteTopic') post({ kind: 'appended', topics: [call.args[0] as string, TOPIC_CHANGES] })
    post({ kind: 'result', id: call.id, value })
    if (call.method === 'close') port.close()
  } catch (error) {
    post({ kind: 'error', id: call.id, error: toWireError(error) })
  }
}

/**
 * Appends that arrived while the thread was busy, written together once it is free: group commit, one sync of
 * their payloads and one of the WAL for all of them (Appender.group). A call that fails alone fails alone.
 */
const appends: CallMessage[] = []

function appendQueued(log: EmbeddedTopicLog): void {
  if (appends.length === 0) return
  const calls = appends.splice(0)
  // The embedded log does its SQLite work synchronously on entry: the group is written before this returns.
  log.appendPackedGroup(calls.map((call) => call.args[0] as PackedRecords)).then((outcomes) => {
    outcomes.forEach((outcome, i) => {
      const { id } = calls[i]
      const packed = calls[i].args[0] as PackedRecords
      if (outcome instanceof Error) {
        post({ kind: 'error', id, error: toWireError(outcome) })
        return
      }
      // SQLite has copied the bytes: the buffer goes back for the next batch (the records' views of it detach).
      const spare = packed.data.buffer as ArrayBuffer
      post({ kind: 'result', id, value: outcome, spare }, [spare, outcome.meta.buffer as ArrayBuffer])
      post({ kind: 'appended', topics: packed.topics })
    })
  }, (error: unknown) => {
    for (const { id } of calls) post({ kind: 'error', id, error: toWireError(error) })
  })
}

const options = workerData as WorkerOptions
try {
  const { logging, ...logOptions } = options
  const log = await createEmbeddedTopicLog({ ...logOptions, logger: logging ? forwardingLogger() : undefined })
  port.on('message', (call: CallMessage) => {
    if (call.method === 'append') {
      appends.push(call)
      if (appends.length === 1) setImmediate(() => appendQueued(log))
      return
    }
    // Appends queued before this call are written before it, in the order the calls were made.
    appendQueued(log)
    void handle(log, call)
  })
  post({ kind: 'ready' })
} catch (error) {
  post({ kind: 'failed', error: toWireError(error) })
}
