/**
 * Turns snapshot reads into records and appends them in batches. It holds back one event so it can stamp
 * Debezium's `source.snapshot` markers, which need to know what comes next: `first` for the run's first record,
 * `first_in_data_collection` / `last_in_data_collection` at table edges, `last` for the run's final record, `true`
 * otherwise. `checkpoint` ends a table or the run: it releases the held record with its marker and resolves when
 * everything emitted so far is durable.
 *
 * A chunk's end is not an edge: the held record may yet be the table's or the run's last (several readers,
 * `snapshot.max.threads`, share one emitter and finish chunks in any order), and the read should not stop for it.
 * `emitted()` resolves once everything emitted so far is durable, carried by the batches that follow, without
 * cutting a batch or releasing the held record. Appends are serialized, so a resolved append means every earlier
 * record is durable too.
 *
 * Rows arrive as JSON bytes (CopyRowEncoder) written into `rowWriter()`; the held row keeps its writer until it is
 * released, when its key and its value are written into the batch: the value is the after image with the envelope
 * around it (the marker now known) as its frame, which rows of the same millisecond share and the log stores once.
 */
import type { SnapshotMarker } from '../../../events/change-event.js'
import { keyText, valueText } from '../../../events/envelope.js'
import { AppendQueue } from '../../../log/append-queue.js'
import { RecordBatch } from '../../../log/record-batch.js'
import type { TopicLog, ValueFrame } from '../../../log/topic-log.js'
import type { SourceMetrics } from '../../source.js'
import type { PostgresSourceConfig } from '../postgres-config.js'
import { ByteWriter } from '../../../util/byte-writer.js'
import type { EncodedRow } from './copy-row-encoder.js'

const BATCH_RECORDS = 2000
/** A row writer grown beyond this by a huge row is replaced rather than reused. */
const MAX_KEPT_ROW_BYTES = 1024 * 1024

interface Held {
  topic: string
  row: EncodedRow
  writer: ByteWriter
  marker: SnapshotMarker
  /** Resolved once this record is durable (see `emitted`). */
  waiters: Array<() => void>
}

export class SnapshotEmitter {
  private held: Held | null = null
  private batch = new RecordBatch()
  private first = true
  private tableStart = false
  /** Records released into batches so far; `durable` waits on a count. */
  private released = 0
  /** Records known durable: released into batches that have been appended. */
  private durableCount = 0
  private durable: Array<{ count: number; resolve: () => void }> = []
  /** Appends run in order; a failed one fails every later append and checkpoint (see AppendQueue). */
  private readonly appends = new AppendQueue()
  /** The writer the next row is encoded into; the held row has the other one. */
  private spare = new ByteWriter()
  /** The envelope around the last released row's after image, by what it depends on. */
  private envelope: Envelope | null = null

  constructor(
    private readonly log: TopicLog,
    private readonly config: PostgresSourceConfig,
    private readonly metrics: SourceMetrics,
  ) {}

  startTable(): void {
    this.tableStart = true
  }

  /** The writer to encode the next row into, emptied. */
  rowWriter(): ByteWriter {
    // A huge value (a text of many megabytes needs up to six times its size as JSON) must not pin that much memory
    // for the rest of the run.
    if (this.spare.bytes.length > MAX_KEPT_ROW_BYTES) this.spare = new ByteWriter()
    this.spare.length = 0
    return this.spare
  }

  /**
   * Adds a row encoded into `rowWriter()`; returns a promise (to await before the next) only when a full batch had to
   * be handed over.
   */
  emit(topic: string, row: EncodedRow): Promise<void> | undefined {
    const writer = this.spare
    const previous = this.held
    if (previous) {
      this.release(previous.marker)
      this.spare = previous.writer
    } else {
      this.spare = new ByteWriter()
    }
    let marker: SnapshotMarker = 'true'
    if (this.first) marker = 'first'
    else if (this.tableStart) marker = 'first_in_data_collection'
    this.first = false
    this.tableStart = false
    this.held = { topic, row, writer, marker, waiters: [] }
    return this.batch.isFull(BATCH_RECORDS) ? this.appendAhead() : undefined
  }

  /**
   * Makes everything emitted so far durable. `edge` says what just ended, so the held-back record gets its marker:
   * the last record of a table, or of the whole run.
   */
  async checkpoint(edge: 'table' | 'run'): Promise<void> {
    const held = this.held
    if (held && edge === 'run') held.marker = 'last'
    else if (held && edge === 'table' && held.marker === 'true') held.marker = 'last_in_data_collection'
    if (held) this.release(held.marker)
    await this.flush()
  }

  /**
   * Resolves once every record emitted so far is durable: when the batches that follow (or the next checkpoint) have
   * carried them into the log. Waits for nothing itself. Never resolves if an append fails; the next `emit` or
   * `checkpoint` throws then.
   */
  emitted(): Promise<void> {
    return new Promise((resolve) => {
      if (this.held) this.held.waiters.push(resolve)
      else if (this.released <= this.durableCount) resolve()
      else this.durable.push({ count: this.released, resolve })
    })
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
      this.durableCount = count
      this.durable = this.durable.filter((w) => (w.count <= count ? void w.resolve() : true))
    }
  }

  private release(marker: SnapshotMarker): void {
    const held = this.held
    if (!held) return
    this.held = null
    this.released++
    for (const resolve of held.waiters) this.durable.push({ count: this.released, resolve })
    const { row, writer } = held
    const { frame, keyPrefix, keySuffix } = this.envelopeOf(row, marker)
    const batch = this.batch
    if (row.keyStart < 0) {
      batch.endKey(true)
    } else {
      batch.writeRange(keyPrefix, 0, keyPrefix.length)
      batch.writeRange(writer.bytes, row.keyStart, row.keyEnd)
      batch.writeRange(keySuffix, 0, keySuffix.length)
      batch.endKey(false)
    }
    // The value is the after image in the envelope, which the log stores once per stored batch (a frame).
    batch.writeRange(writer.bytes, row.afterStart, row.afterEnd)
    batch.endRecord(held.topic, row.timestampMs, frame)
  }

  /**
   * The bytes before and after a row's JSON in its value and key: the envelope is the same for every row of a table
   * read in the same millisecond with the same marker, so it is written once (by the envelope encoder, around a
   * placeholder) and reused.
   */
  private envelopeOf(row: EncodedRow, marker: SnapshotMarker): Envelope {
    const cached = this.envelope
    if (cached !== null && cached.table === row.table && cached.source === row.source && cached.processedAtUs === row.processedAtUs &&
      cached.marker === marker) {
      return cached
    }
    const value = valueText(row.table, { before: 'null', after: PLACEHOLDER, source: row.source, snapshot: marker, op: 'r', processedAtUs: row.processedAtUs },
      { schemasEnable: this.config.valueSchemas })
    const key = keyText(row.table, PLACEHOLDER, row.source, { schemasEnable: this.config.keySchemas })
    const [valuePrefix, valueSuffix] = splitAt(value)
    const [keyPrefix, keySuffix] = splitAt(key)
    this.envelope = { table: row.table, source: row.source, processedAtUs: row.processedAtUs, marker, frame: { prefix: valuePrefix, suffix: valueSuffix },
      keyPrefix, keySuffix }
    return this.envelope
  }
}

interface Envelope {
  table: EncodedRow['table']
  source: EncodedRow['source']
  processedAtUs: bigint
  marker: SnapshotMarker
  /** The value around the after image. */
  frame: ValueFrame
  keyPrefix: Buffer
  keySuffix: Buffer
}

/** Stands for the row's JSON in an envelope; no envelope text contains it (JSON escapes NUL). */
const PLACEHOLDER = '\u0000'

function splitAt(text: string): [Buffer, Buffer] {
  const at = text.indexOf(PLACEHOLDER)
  return [Buffer.from(text.slice(0, at)), Buffer.from(text.slice(at + PLACEHOLDER.length))]
}
