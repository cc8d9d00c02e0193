/**
 * Turns snapshot reads into records and appends them in batches. It holds back one event so it can stamp
 * Debezium's `source.snapshot` markers, which need to know what comes next: `first` for the run's first record,
 * `first_in_data_collection` / `last_in_data_collection` at table edges, `last` for the run's final record, `true`
 * otherwise. `checkpoint` resolves when everything emitted so far is durable.
 *
 * Several readers (`snapshot.max.threads`) share one emitter. A reader that finishes a chunk while others still
 * read must not release the held record if it is its own: it may yet be the table's or the run's last record and
 * need that marker. `checkpointOwn` leaves it held and resolves once another emit or the final checkpoint has made
 * it durable. Appends are serialized, so a resolved append means every earlier record is durable too.
 */
import type { SnapshotMarker } from '../../../events/change-event.js'
import { keyText, valueText } from '../../../events/envelope.js'
import { AppendQueue } from '../../../log/append-queue.js'
import { RecordBatch } from '../../../log/record-batch.js'
import type { TopicLog } from '../../../log/topic-log.js'
import type { SourceMetrics } from '../../source.js'
import type { PostgresSourceConfig } from '../postgres-config.js'
import type { EncodedRead } from './read-encoder.js'

const BATCH_RECORDS = 2000

interface Held {
  topic: string
  read: EncodedRead
  marker: SnapshotMarker
  owner: unknown
  /** Resolved once this record is durable (readers waiting in `checkpointOwn`). */
  waiters: Array<() => void>
}

export class SnapshotEmitter {
  private held: Held | null = null
  private batch = new RecordBatch()
  private first = true
  private tableStart = false
  /** Records released into batches so far; `durable` waits on a count. */
  private released = 0
  private durable: Array<{ count: number; resolve: () => void }> = []
  /** Appends run in order; a failed one fails every later append and checkpoint (see AppendQueue). */
  private readonly appends = new AppendQueue()

  constructor(
    private readonly log: TopicLog,
    private readonly config: PostgresSourceConfig,
    private readonly metrics: SourceMetrics,
  ) {}

  startTable(): void {
    this.tableStart = true
  }

  /** Adds a read; returns a promise (to await before the next) only when a full batch had to be handed over. */
  emit(topic: string, read: EncodedRead, owner: unknown = null): Promise<void> | undefined {
    if (this.held) this.release(this.held.marker)
    let marker: SnapshotMarker = 'true'
    if (this.first) marker = 'first'
    else if (this.tableStart) marker = 'first_in_data_collection'
    this.first = false
    this.tableStart = false
    this.held = { topic, read, marker, owner, waiters: [] }
    return this.batch.length >= BATCH_RECORDS ? this.appendAhead() : undefined
  }

  /**
   * Makes everything emitted so far durable. `edge` says what just ended, so the held-back record gets its marker:
   * the last record of a table, or of the whole run.
   */
  async checkpoint(edge: 'chunk' | 'table' | 'run'): Promise<void> {
    const held = this.held
    if (held && edge === 'run') held.marker = 'last'
    else if (held && edge === 'table' && held.marker === 'true') held.marker = 'last_in_data_collection'
    if (held) this.release(held.marker)
    await this.flush()
  }

  /** Makes `owner`'s records durable, keeping its record held back if it is the latest (see above). */
  async checkpointOwn(owner: unknown): Promise<void> {
    const held = this.held
    if (!held || held.owner !== owner) return this.flush()
    const durable = new Promise<void>((resolve) => held.waiters.push(resolve))
    await this.flush()
    await durable
  }

  private async flush(): Promise<void> {
    if (this.batch.length > 0) await this.appendBatch()
    await this.appends.drained()
  }

  /**
   * Starts appending a full batch and returns once the batch before it is durable: the log works on its own thread,
   * so reading and encoding the next batch overlaps writing this one, with at most one batch waiting in memory.
   */
  private appendAhead(): Promise<void> {
    return this.appends.runAhead(this.takeBatch())
  }

  /** Appends full batches while rows stream in (the held-back record stays). */
  private appendBatch(): Promise<void> {
    return this.appends.run(this.takeBatch())
  }

  /** Cuts the batch released so far; the returned work appends it and wakes the checkpoints it makes durable. */
  private takeBatch(): () => Promise<void> {
    const batch = this.batch
    const count = this.released
    this.batch = new RecordBatch()
    return async () => {
      await this.log.append(batch)
      this.metrics.recordsSent += batch.length
      this.metrics.bytesSent += batch.bytes
      this.metrics.snapshotEvents += batch.length
      this.metrics.lastEventAtMs = Date.now()
      this.durable = this.durable.filter((w) => (w.count <= count ? void w.resolve() : true))
    }
  }

  private release(marker: SnapshotMarker): void {
    const held = this.held
    if (!held) return
    this.held = null
    this.released++
    for (const resolve of held.waiters) this.durable.push({ count: this.released, resolve })
    const { read } = held
    this.batch.add({
      topic: held.topic,
      key: read.key === null ? null : keyText(read.table, read.key, read.source, { schemasEnable: this.config.keySchemas }),
      value: valueText(read.table, {
        before: 'null',
        after: read.after,
        source: read.source,
        snapshot: marker,
        op: 'r',
        processedAtUs: read.processedAtUs,
      }, { schemasEnable: this.config.valueSchemas }),
      timestamp: read.timestampMs,
    })
  }
}
