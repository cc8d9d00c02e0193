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
 * Each row is encoded (CopyRowEncoder) straight into the batch: its key, then its after image as the value, whose frame
 * is the envelope around it, which rows of the same millisecond and marker share and the log stores once. The held
 * record is the batch's last: a batch is cut when the next row arrives (its marker then known), and an edge gives
 * the held record its marker by changing its frame.
 */
import type { SnapshotMarker, SourceInfo, TableSchema } from '../../../events/change-event.js'
import { keyText, valueText } from '../../../events/envelope.js'
import { AppendQueue } from '../../../log/append-queue.js'
import { RecordBatch } from '../../../log/record-batch.js'
import type { TopicLog, ValueFrame } from '../../../log/topic-log.js'
import type { SourceMetrics } from '../../source.js'
import type { PostgresSourceConfig } from '../postgres-config.js'
import type { Lsn } from '../replication/lsn.js'
import type { MappedTable } from '../streaming/change-mapper.js'
import type { CopyRowEncoder } from './copy-row-encoder.js'

const BATCH_RECORDS = 2000
/**
 * Batches on their way into the log while the next fills. More than one, so the log's thread finds several waiting
 * and writes them with one commit and one sync (group commit), and a slow sync does not stall the read. Measured on
 * the snapshot bench (1M rows, 2 cores), one batch → three with group commit: the reading thread's waits for the
 * log 0.55–0.67 → 0.19–0.21 s a run, and 48–52% → 56% of raw COPY's rate.
 */
const BATCHES_IN_FLIGHT = 3
export class SnapshotEmitter {
  private batch = new RecordBatch()
  /** The envelope of the batch's last record while its marker may still change (the held record), else null. */
  private held: Envelope | null = null
  private first = true
  private tableStart = false
  /** Records written into batches so far; `durable` waits on a count. */
  private written = 0
  /** Records known durable: in batches that have been appended. */
  private durableCount = 0
  private durable: Array<{ count: number; resolve: () => void }> = []
  /** Appends run in order; a failed one fails every later append and checkpoint (see AppendQueue). */
  private readonly appends = new AppendQueue(BATCHES_IN_FLIGHT)
  /** The envelope of the last row written, by what it depends on. */
  private envelope: Envelope | null = null

  constructor(
    private readonly log: TopicLog,
    private readonly config: PostgresSourceConfig,
    private readonly metrics: SourceMetrics,
    private readonly encoder: CopyRowEncoder,
  ) {}

  startTable(): void {
    this.tableStart = true
  }

  /**
   * Adds the rows of a COPY chunk of `table` read at `readAtUs` (the framer's CopyRows: row `r` is
   * `bytes[ranges[2r], ranges[2r + 1])`); returns a promise (to await before the next chunk) only when a full batch
   * had to be handed over. A row that cannot be encoded throws, having added nothing of itself (the rows before it
   * stay).
   */
  emitRows(table: MappedTable, bytes: Buffer, ranges: Int32Array, count: number, lsn: Lsn | null, readAtUs: bigint): Promise<void> | undefined {
    let handedOver: Promise<void> | undefined
    try {
      for (let r = 0; r < count;) {
        if (this.batch.isFull(BATCH_RECORDS)) {
          // A row follows the held record, so its marker is what it was written with: the batch can go. (A chunk of
          // tiny rows may fill more than one: the caller waits for the last hand-over, which waits for the others.)
          handedOver?.catch(() => undefined)
          handedOver = this.appendAhead()
        }
        // The run's and each table's first row have markers of their own; the chunk's other rows share one envelope.
        const edge = this.first || this.tableStart
        const to = edge ? r + 1 : Math.min(count, r + BATCH_RECORDS - this.batch.length)
        this.writeRows(table, bytes, ranges, r, to, lsn, readAtUs)
        r = to
      }
    } catch (error) {
      // The caller gets the error, not the hand-over: its failure, if any, comes back from the next append.
      handedOver?.catch(() => undefined)
      throw error
    }
    return handedOver
  }

  /** Writes rows `from` to `to` (exclusive) of a chunk into the batch, all with the same envelope. */
  private writeRows(table: MappedTable, bytes: Buffer, ranges: Int32Array, from: number, to: number, lsn: Lsn | null,
    readAtUs: bigint): void {
    const { source, timestampMs } = this.encoder.sourceFor(table, lsn, readAtUs)
    const marker: SnapshotMarker = this.first ? 'first' : this.tableStart ? 'first_in_data_collection' : 'true'
    const envelope = this.envelopeOf(table.tableSchema, source, readAtUs, marker)
    const { frame, keyPrefix, keySuffix } = envelope
    const { encoder, batch } = this
    const out = batch.writer()
    const keyed = encoder.hasKey(table)
    let r = from
    try {
      for (; r < to; r++) {
        const start = ranges[2 * r]
        const end = ranges[2 * r + 1]
        if (keyed) {
          out.range(keyPrefix)
          encoder.writeKey(table, bytes, start, end, out)
          out.range(keySuffix)
          batch.endKey(false)
        } else {
          batch.endKey(true)
        }
        encoder.writeAfter(table, bytes, start, end, out)
        batch.endRecord(table.topic, timestampMs, frame)
      }
    } catch (error) {
      batch.discardOpen()
      throw error
    } finally {
      if (r > from) {
        this.written += r - from
        this.held = envelope
        this.first = false
        this.tableStart = false
      }
    }
  }

  /**
   * Makes everything emitted so far durable. `edge` says what just ended, so the held-back record gets its marker:
   * the last record of a table, or of the whole run.
   */
  async checkpoint(edge: 'table' | 'run'): Promise<void> {
    const held = this.held
    if (held) {
      let marker = held.marker
      if (edge === 'run') marker = 'last'
      else if (marker === 'true') marker = 'last_in_data_collection'
      if (marker !== held.marker) this.batch.reframeLast(this.envelopeOf(held.table, held.source, held.processedAtUs, marker).frame)
      this.held = null
    }
    await this.flush()
  }

  /**
   * Resolves once every record emitted so far is durable: when the batches that follow (or the next checkpoint) have
   * carried them into the log. Waits for nothing itself. Never resolves if an append fails; the next `emit` or
   * `checkpoint` throws then.
   */
  emitted(): Promise<void> {
    return new Promise((resolve) => {
      if (this.written <= this.durableCount) resolve()
      else this.durable.push({ count: this.written, resolve })
    })
  }

  private async flush(): Promise<void> {
    if (this.batch.length > 0) await this.appendBatch()
    await this.appends.drained()
  }

  /**
   * Starts appending a full batch and returns once the batch BATCHES_IN_FLIGHT back is durable: the log works on its
   * own thread, so reading and encoding the next batch overlaps writing these.
   */
  private appendAhead(): Promise<void> {
    return this.appends.runAhead(this.takeBatch())
  }

  /** Appends full batches while rows stream in (the held-back record stays). */
  private appendBatch(): Promise<void> {
    return this.appends.run(this.takeBatch())
  }

  /** Cuts the batch; the returned work appends it and wakes the checkpoints it makes durable. */
  private takeBatch(): () => Promise<void> {
    const batch = this.batch
    const count = this.written
    this.batch = new RecordBatch()
    // The held record goes with its batch, with the marker it has: a row followed it, or an edge already set it.
    this.held = null
    // Sent now, not when the append before it is done: the log's thread writes the batches waiting for it together
    // (group commit), in the order they were sent. Reported durable only in order, though: if one fails, the queue
    // fails those after it, which the log may have stored all the same (read again after the restart: duplicates,
    // as after any retry, never a loss).
    const appended = this.log.append(batch)
    appended.catch(() => undefined)
    return async () => {
      await appended
      this.metrics.recordsSent += batch.length
      this.metrics.bytesSent += batch.bytes
      this.metrics.snapshotEvents += batch.length
      this.metrics.lastEventAtMs = Date.now()
      this.durableCount = count
      this.durable = this.durable.filter((w) => (w.count <= count ? void w.resolve() : true))
    }
  }

  /**
   * The bytes before and after a row's JSON in its value and key: the envelope is the same for every row of a table
   * read in the same millisecond with the same marker, so it is written once (by the envelope encoder, around a
   * placeholder) and reused.
   */
  private envelopeOf(table: TableSchema, source: SourceInfo, processedAtUs: bigint, marker: SnapshotMarker): Envelope {
    const cached = this.envelope
    if (cached !== null && cached.table === table && cached.source === source && cached.processedAtUs === processedAtUs && cached.marker === marker) {
      return cached
    }
    const value = valueText(table, { before: 'null', after: PLACEHOLDER, source, snapshot: marker, op: 'r', processedAtUs },
      { schemasEnable: this.config.valueSchemas })
    const key = keyText(table, PLACEHOLDER, source, { schemasEnable: this.config.keySchemas })
    const [valuePrefix, valueSuffix] = splitAt(value)
    const [keyPrefix, keySuffix] = splitAt(key)
    this.envelope = { table, source, processedAtUs, marker, frame: { prefix: valuePrefix, suffix: valueSuffix }, keyPrefix, keySuffix }
    return this.envelope
  }
}

interface Envelope {
  table: TableSchema
  source: SourceInfo
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
