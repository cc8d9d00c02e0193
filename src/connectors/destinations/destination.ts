/**
 * The destination contract (Kysely-dialect style: one folder per kind with the same file set). A destination kind
 * opens a writer for one pipeline; the runtime hands it batches of decoded change records in log order and commits
 * the consumer-group offsets only after `write` resolved, so a writer must make a batch durable before resolving and
 * must be idempotent (a redelivered batch changes nothing).
 *
 * Failures are classified where they are caught: a `RecordError` means the records' content was rejected (the
 * runtime bisects the batch to find the poisoned records and sends them to the dead-letter topic); any other error
 * is treated as the destination being unavailable (retried with backoff, nothing skipped).
 */
import type { ConnectorSpec } from '../connector-spec.js'
import type { TaskLogger } from '../source.js'
import type { FlatObject } from './flat-json.js'

/** One Debezium change record, decoded from the topic log (`{schema, payload}` wrappers removed). */
export interface DestinationRecord {
  topic: string
  partition: number
  offset: number
  /** The key's fields (`{id: 1}`), or null for a keyless table. */
  key: Record<string, unknown> | null
  /** The Debezium envelope `{before, after, source, op, ts_ms}`, or null for a tombstone. */
  value: ChangeValue | null
  /** The envelope's Connect schema when the source wrote schemas; used to choose column types. */
  valueSchema: unknown
  /**
   * Set by the decoder on a snapshot read whose key and after image are flat objects (flat-json.ts), for writers
   * that can copy the values' bytes without parsing them. Such a record's `key` and `value.after` are parsed when
   * first read.
   */
  flat?: FlatRead
}

export interface FlatRead {
  /** The key's fields, in the key's order: the after image holds them with the same values (the decoder checked). */
  keyColumns: readonly string[]
  after: FlatObject
  /**
   * The envelope of the run of reads the record belongs to (the decoder's last fully decoded one): its source, op and
   * timestamps are the record's, its after image is not. Reading them here leaves the record's value unparsed.
   */
  envelope: ChangeValue
}

/** The source block of a record's event, without parsing a flat read's after image. */
export function sourceOf(record: DestinationRecord): ChangeValue['source'] | undefined {
  return record.flat?.envelope.source ?? record.value?.source
}

export interface ChangeValue {
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  source: { schema?: string; table?: string; lsn?: number | null; ts_ms?: number; [k: string]: unknown }
  op: 'c' | 'u' | 'd' | 'r' | 't'
  ts_ms?: number
}

export interface DestinationWriter {
  write(records: readonly DestinationRecord[], signal: AbortSignal): Promise<void>
  close(): Promise<void>
}

export interface OpenWriterOptions {
  destinationId: string
  config: Readonly<Record<string, unknown>>
  logger: TaskLogger
}

export interface DestinationConnector {
  code: string
  spec: ConnectorSpec
  /** Records per `write` call the runtime should aim for (from the config's batch size). */
  batchSize(config: Readonly<Record<string, unknown>>): number
  /** How long a small batch may wait for more records (Kafka's linger.ms); 0 or absent: write at once. */
  lingerMs?(config: Readonly<Record<string, unknown>>): number
  open(options: OpenWriterOptions): Promise<DestinationWriter>
}

/**
 * The records could not be delivered and retrying them will not help: their content was rejected, or (with
 * `isolate: false`) the destination's retries for this batch are exhausted, so bisecting would only repeat them and
 * the whole batch goes to the dead-letter topic.
 */
/**
 * An integer beyond 2^53 (an int64 column), which a JS number cannot hold exactly: kept as its decimal text.
 * JSON.stringify writes it as a JSON string, which PostgreSQL casts to bigint or numeric exactly (an HTTP sink's
 * receiver sees a string where the source had a number: the digits survive, the JSON type does not).
 */
export class ExactInteger {
  constructor(readonly text: string) {}

  toJSON(): string {
    return this.text
  }
}

export class RecordError extends Error {
  readonly isolate: boolean

  constructor(message: string, options?: { cause?: unknown; isolate?: boolean }) {
    super(message, options)
    this.name = 'RecordError'
    this.isolate = options?.isolate ?? true
  }
}

/** Every destination's dead-letter topic (Streamkap's name). */
export function deadLetterTopic(destinationId: string): string {
  return `destination_${destinationId}.streamkap.deadletterqueue`
}
