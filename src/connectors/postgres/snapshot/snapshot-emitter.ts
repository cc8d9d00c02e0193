/**
 * Turns snapshot reads into records and appends them in batches. It holds back one event so it can stamp
 * Debezium's `source.snapshot` markers, which need to know what comes next: `first` for the run's first record,
 * `first_in_data_collection` / `last_in_data_collection` at table edges, `last` for the run's final record, `true`
 * otherwise. `checkpoint` resolves when everything emitted so far is durable.
 */
import type { ChangeEvent, SnapshotMarker } from '../../../events/change-event.js'
import { encodeKey, encodeValue } from '../../../events/envelope.js'
import type { AppendRecord, TopicLog } from '../../../log/topic-log.js'
import type { SourceMetrics } from '../../source.js'
import type { PostgresSourceConfig } from '../postgres-config.js'

const BATCH_RECORDS = 2000

export class SnapshotEmitter {
  private held: { topic: string; event: ChangeEvent } | null = null
  private batch: AppendRecord[] = []
  private first = true
  private tableStart = false

  constructor(
    private readonly log: TopicLog,
    private readonly config: PostgresSourceConfig,
    private readonly metrics: SourceMetrics,
    /** Incremental snapshots mark every read `incremental`. */
    private readonly fixedMarker: SnapshotMarker | null = null,
  ) {}

  startTable(): void {
    this.tableStart = true
  }

  async emit(topic: string, event: ChangeEvent): Promise<void> {
    if (this.held) this.release(this.held.event.source.snapshot)
    let marker: SnapshotMarker = 'true'
    if (this.first) marker = 'first'
    else if (this.tableStart) marker = 'first_in_data_collection'
    this.first = false
    this.tableStart = false
    event.source.snapshot = marker
    this.held = { topic, event }
    if (this.batch.length >= BATCH_RECORDS) await this.appendBatch()
  }

  /**
   * Makes everything emitted so far durable. `edge` says what just ended, so the held-back record gets its marker:
   * the last record of a table, or of the whole run.
   */
  async checkpoint(edge: 'chunk' | 'table' | 'run'): Promise<void> {
    const held = this.held
    if (held && edge === 'run') held.event.source.snapshot = 'last'
    else if (held && edge === 'table' && held.event.source.snapshot === 'true') held.event.source.snapshot = 'last_in_data_collection'
    if (held) this.release(held.event.source.snapshot)
    if (this.batch.length > 0) await this.appendBatch()
  }

  /** Appends full batches while rows stream in (the held-back record stays). */
  private async appendBatch(): Promise<void> {
    const batch = this.batch
    this.batch = []
    await this.log.append(batch)
    this.metrics.recordsSent += batch.length
    this.metrics.snapshotEvents += batch.length
    this.metrics.lastEventAtMs = Date.now()
  }

  private release(marker: SnapshotMarker): void {
    const held = this.held
    if (!held) return
    this.held = null
    held.event.source.snapshot = this.fixedMarker ?? marker
    const value = encodeValue(held.event, { schemasEnable: this.config.valueSchemas })
    this.batch.push({
      topic: held.topic,
      key: encodeKey(held.event, { schemasEnable: this.config.keySchemas }),
      value,
      timestamp: Number(held.event.source.commitTimeUs / 1000n),
    })
    this.metrics.bytesSent += value.length
  }
}
