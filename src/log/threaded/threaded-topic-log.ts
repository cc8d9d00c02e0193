/**
 * The embedded topic log on a worker thread of its own. The main thread keeps decoding and encoding change events
 * while SQLite writes and fsyncs the previous batch: with the log on the main thread, every append stopped the whole
 * process for its insert and fsync (about a third of the streaming task's time). Measured on the streaming bench
 * (replay of 300,000 changes): see bench/results/streaming.json and the README.
 *
 * Same contract as the embedded log (topic-log.ts); the difference is only where the work runs. `append` resolves
 * when the worker's commit returned, so durability is unchanged. Errors come back as the log's own error classes.
 * If the worker dies, every pending and later call fails with the reason and `onFailure` is told (`sluice start`
 * then exits to be restarted).
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { AppendWaiters, TOPIC_CHANGES } from '../embedded/append-waiters.js'
import type { EmbeddedTopicLogOptions, TopicLogLogger } from '../embedded/embedded-topic-log.js'
import { LogClosedError } from '../log-errors.js'
import type {
  AppendRecord,
  AppendResult,
  LogRecord,
  PartitionOffsets,
  ReadOptions,
  RetentionResult,
  TopicConfig,
  TopicInfo,
  TopicLog,
} from '../topic-log.js'
import { type PackedRecords, type RecordBatch, recycleBatchBuffer } from '../record-batch.js'
import type { CallMethod, WorkerMessage, WorkerOptions } from './protocol.js'
import { fromWireError, packAppendRecords, transferablesOf, unpackAppendResults, unpackLogRecords } from './wire.js'

export interface ThreadedTopicLogOptions extends EmbeddedTopicLogOptions {
  /**
   * Called once if the worker thread dies while the log is open (a crash in SQLite, out of memory). Every call fails
   * from then on; the process should exit so it is restarted, which is safe: appends resolved only once durable.
   */
  onFailure?: (error: Error) => void
}

export async function createThreadedTopicLog(options: ThreadedTopicLogOptions): Promise<TopicLog> {
  const { logger, onFailure, ...rest } = options
  const worker = startWorker({ ...rest, logging: logger !== undefined })
  const log = new ThreadedTopicLog(worker, logger, onFailure)
  try {
    await log.ready
  } catch (error) {
    await worker.terminate()
    throw error
  }
  return log
}

/** From source (tests and benches run TypeScript through tsx or vitest) the worker needs a TypeScript loader too. */
function startWorker(workerData: WorkerOptions): Worker {
  const here = import.meta.url
  if (!here.endsWith('.ts')) return new Worker(new URL('./log-worker.js', here), { workerData })
  // tsx's ESM entry (its package exports' `import` condition for `tsx/esm/api`); require.resolve would give the CJS one.
  const tsxPackage = createRequire(here).resolve('tsx/package.json')
  const tsx = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href
  const entry = new URL('./log-worker.ts', here).href
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
}

class ThreadedTopicLog implements TopicLog {
  readonly ready: Promise<void>
  private readonly pending = new Map<number, Pending>()
  private readonly waiters = new AppendWaiters()
  private nextId = 1
  /** Started and not yet failed or closed: a failure now is a crash, not a refusal to open. */
  private running = false
  private closing: Promise<void> | null = null
  /** Set when the worker failed to start or died: every call fails with it. */
  private failure: Error | null = null
  private started!: Pending

  constructor(
    private readonly worker: Worker,
    private readonly logger: TopicLogLogger | undefined,
    private readonly onFailure: ((error: Error) => void) | undefined,
  ) {
    this.ready = new Promise<unknown>((resolve, reject) => {
      this.started = { resolve, reject }
    }).then(() => undefined)
    worker.on('message', (message: WorkerMessage) => this.receive(message))
    worker.on('error', (error: Error) => this.fail(error))
    worker.on('exit', (code) => this.fail(new Error(`the topic log's worker thread exited with code ${code}`)))
  }

  createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicInfo> {
    return this.call('createTopic', [name, config])
  }

  updateTopic(name: string, config: Partial<TopicConfig>): Promise<TopicInfo> {
    return this.call('updateTopic', [name, config])
  }

  deleteTopic(name: string): Promise<void> {
    return this.call('deleteTopic', [name])
  }

  getTopic(name: string): Promise<TopicInfo | undefined> {
    return this.call('getTopic', [name])
  }

  listTopics(): Promise<TopicInfo[]> {
    return this.call('listTopics', [])
  }

  async append(records: AppendRecord[] | RecordBatch): Promise<AppendResult[]> {
    if (this.closing !== null) throw new LogClosedError()
    if (records.length === 0) return []
    const packed = packAppendRecords(records)
    return unpackAppendResults(await this.call('append', [packed], transferablesOf(packed)))
  }

  async read(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<LogRecord[]> {
    return unpackLogRecords(await this.readPacked(topic, partition, fromOffset, options))
  }

  readPacked(topic: string, partition: number, fromOffset: number, options?: ReadOptions): Promise<PackedRecords> {
    return this.call('read', [topic, partition, fromOffset, options])
  }

  offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return this.call('offsets', [topic, partition])
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number | null> {
    return this.call('offsetForTimestamp', [topic, partition, timestamp])
  }

  stats(topic: string, partition: number): Promise<{ records: number; bytes: number }> {
    return this.call('stats', [topic, partition])
  }

  commitOffsets(group: string, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    return this.call('commitOffsets', [group, offsets])
  }

  committedOffsets(group: string): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    return this.call('committedOffsets', [group])
  }

  listGroups(): Promise<string[]> {
    return this.call('listGroups', [])
  }

  deleteGroup(group: string): Promise<void> {
    return this.call('deleteGroup', [group])
  }

  enforceRetention(now?: number): Promise<RetentionResult> {
    return this.call('enforceRetention', [now])
  }

  waitForAppend(topic: string, signal: AbortSignal): Promise<void> {
    if (this.closing !== null) return Promise.resolve()
    return this.waiters.wait(topic, signal)
  }

  waitForTopicChange(signal: AbortSignal): Promise<void> {
    if (this.closing !== null) return Promise.resolve()
    return this.waiters.wait(TOPIC_CHANGES, signal)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.waiters.notifyAll()
      try {
        if (this.failure === null) await this.send('close', [])
      } finally {
        await this.worker.terminate()
      }
    })()
    return this.closing
  }

  private call<T>(method: CallMethod, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closing !== null) return Promise.reject(new LogClosedError())
    return this.send(method, args, transfer)
  }

  private send<T>(method: CallMethod, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      // The worker keeps the process alive only while a call waits for it, like any pending I/O.
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.worker.postMessage({ id, method, args }, transfer)
    })
  }

  private receive(message: WorkerMessage): void {
    switch (message.kind) {
      case 'ready':
        this.running = true
        this.worker.unref()
        this.started.resolve(undefined)
        return
      case 'failed':
        this.fail(fromWireError(message.error))
        return
      case 'result':
        if (message.spare !== undefined) recycleBatchBuffer(message.spare)
        this.settle(message.id)?.resolve(message.packed ?? message.value)
        return
      case 'error':
        this.settle(message.id)?.reject(fromWireError(message.error))
        return
      case 'appended':
        this.waiters.notify(message.topics)
        return
      case 'log':
        this.logger?.[message.level](message.obj, message.msg)
        return
    }
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id)
    this.pending.delete(id)
    if (this.pending.size === 0) this.worker.unref()
    return pending
  }

  private fail(error: Error): void {
    if (this.failure !== null) return
    this.failure = this.closing !== null ? new LogClosedError() : error
    this.started.reject(error)
    for (const pending of this.pending.values()) pending.reject(this.failure)
    this.pending.clear()
    this.waiters.notifyAll()
    if (this.closing === null && this.running) {
      this.logger?.error({ err: error }, 'topic log worker failed')
      this.onFailure?.(error)
    }
  }
}
