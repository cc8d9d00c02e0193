/**
 * Log record → DestinationRecord: parses the Debezium JSON key and value and strips the `{schema, payload}` wrapper
 * that sources write when `*.converter.schemas.enable` is on. A record that is not a Debezium change event throws a
 * RecordError, so it goes to the dead-letter topic instead of stopping delivery.
 */
import { parse as parseLossless } from 'lossless-json'
import { ABSENT, PackedView } from '../../log/record-batch.js'
import type { LogRecord } from '../../log/topic-log.js'
import { type ChangeValue, type DestinationRecord, ExactInteger, type FlatRead, RecordError } from './destination.js'
import { FlatObjectScanner, type FlatLayout, type FlatObject, sameValue } from './flat-json.js'

function parse(buffer: Buffer | null, what: string): unknown {
  if (buffer === null) return null
  try {
    return JSON.parse(buffer.toString('utf8'))
  } catch (err) {
    throw new RecordError(`the record's ${what} is not JSON`, { cause: err })
  }
}

/**
 * JSON.parse turns an int64 beyond 2^53 (a bigint column, Debezium writes it as a plain number) into the nearest
 * double: a different value. When a row holds an integer that may have been rounded, the text is parsed again with
 * lossless-json, keeping such integers exact (ExactInteger). Rare, so the fast JSON.parse stays the common path.
 */
function mayHaveLostDigits(row: unknown): boolean {
  if (row === null || typeof row !== 'object') return false
  for (const value of Object.values(row as Record<string, unknown>)) {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) return true
  }
  return false
}

function holdsExactIntegers(row: unknown): boolean {
  return row !== null && typeof row === 'object' && Object.values(row).some((value) => value instanceof ExactInteger)
}

function parseExact(buffer: Buffer): unknown {
  return parseLossless(buffer.toString('utf8'), null, (text) => {
    const number = Number(text)
    return Number.isSafeInteger(number) || !/^-?\d+$/.test(text) ? number : new ExactInteger(text)
  })
}

function unwrap(json: unknown): { payload: unknown; schema: unknown } {
  if (json && typeof json === 'object' && 'payload' in json && 'schema' in json) {
    const wrapped = json as { payload: unknown; schema: unknown }
    return { payload: wrapped.payload, schema: wrapped.schema }
  }
  return { payload: json, schema: null }
}

function decodeKey(record: LogRecord): Record<string, unknown> | null {
  let key = unwrap(parse(record.key, 'key')).payload
  if (record.key !== null && mayHaveLostDigits(key)) key = unwrap(parseExact(record.key)).payload
  if (key !== null && (typeof key !== 'object' || Array.isArray(key))) throw new RecordError('the record key is not a JSON object')
  return key as Record<string, unknown> | null
}

export function decodeRecord(record: LogRecord): DestinationRecord {
  const key = decodeKey(record)
  let value = unwrap(parse(record.value, 'value'))
  if (record.value !== null && rowsMayHaveLostDigits(value.payload)) value = unwrap(parseExact(record.value))
  return changeRecord(record, key, value.payload, value.schema)
}

function rowsMayHaveLostDigits(payload: unknown): boolean {
  const rows = payload as { before?: unknown; after?: unknown } | null
  return mayHaveLostDigits(rows?.before) || mayHaveLostDigits(rows?.after)
}

function changeRecord(record: LogRecord, key: Record<string, unknown> | null, payload: unknown, valueSchema: unknown): DestinationRecord {
  const envelope = payload as ChangeValue | null
  if (envelope !== null && (typeof envelope !== 'object' || !['c', 'u', 'd', 'r', 't'].includes(envelope.op))) {
    throw new RecordError('the record value is not a Debezium change event')
  }
  return { topic: record.topic, partition: record.partition, offset: record.offset, key, value: envelope, valueSchema }
}

/** What precedes the after image of an event with no before image. */
const NO_BEFORE_HEAD = Buffer.from('{"before":null,"after":')
/** How a value with its schema starts, and what follows the schema. */
const SCHEMA_HEAD = Buffer.from('{"schema":')
const PAYLOAD_KEY = Buffer.from(',"payload":')
const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** Whether `bytes` holds `expected` at `at`. */
function bytesAt(bytes: Buffer, at: number, expected: Buffer): boolean {
  return at >= 0 && bytes.length - at >= expected.length && bytes.compare(expected, 0, expected.length, at, at + expected.length) === 0
}

/**
 * The end of the JSON object or array starting at `start` (past its closing bracket), or -1. Brackets are counted
 * outside strings only; it does not validate (see RecordDecoder for why it need not).
 */
function compositeEnd(bytes: Buffer, start: number): number {
  let depth = 0
  let inString = false
  for (let i = start; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === BACKSLASH) i++
      else if (b === QUOTE) inString = false
    } else if (b === QUOTE) {
      inString = true
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      depth++
    } else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && --depth === 0) {
      return i + 1
    }
  }
  return -1
}

/**
 * decodeRecord for a stream of records, parsing less of what consecutive events repeat. Both shortcuts are exact: the
 * repeated bytes were valid JSON, in the same place, in an event decoded in full, so a value made of them and a new
 * part is valid exactly when the new part parses, and decodes to that event's pieces with the new part. (Splits are
 * found by counting brackets in values known to be valid JSON, so they are where the parser found those pieces.)
 * - Snapshot reads of a table in the same millisecond differ only in their after image; the envelope around it
 *   (source block, op, timestamps, and the schema when events carry one) is most of an event's bytes. A value made of
 *   the last fully decoded read's bytes before its after image, an object, and its bytes after it has only its
 *   object parsed.
 * - Events that carry their schema (`{"schema":…,"payload":…}`) repeat it in every event of a table: a value that
 *   starts with the last fully decoded one's bytes up to its payload has only its payload parsed, the schema shared.
 * Anything else, or a row holding an integer beyond 2^53 (parsed the exact way), takes decodeRecord.
 *
 * A snapshot read whose after image (and key) is a flat JSON object is not even parsed: it is scanned (flat-json.ts)
 * and comes out as a FlatReadRecord, whose `flat` lets a writer copy the values' bytes and whose key and after image
 * are parsed only if something reads them.
 */
export class RecordDecoder {
  /** The remembered snapshot read: the bytes before and after its after image, its envelope and schema. */
  private head: Buffer | null = null
  private tail: Buffer | null = null
  private envelope: ChangeValue | null = null
  private valueSchema: unknown = null
  /** The last schema-carrying value's bytes up to its payload (`{"schema":…,"payload":`), and its schema. */
  private schemaHead: Buffer | null = null
  private schema: unknown = null
  private readonly afterScanner = new FlatObjectScanner()
  /** What flatRead found, valid until its next call (the after image is the scanner's reused object). */
  private readonly flat: Flat = { keyColumns: [], after: null as unknown as FlatObject }
  private readonly keyScanner = new FlatObjectScanner()
  private lastPositions: { key: FlatLayout; after: FlatLayout; positions: number[] } | null = null
  /** What the last flat read shared with the reads before it (see FlatRun). */
  private run: FlatRun | null = null
  /** The last frame compared with the remembered head and tail, and the answer. */
  private frameCheck: { view: PackedView; index: number; head: Buffer; same: boolean } | null = null

  decode(record: LogRecord): DestinationRecord {
    const value = record.value
    if (value !== null && this.head !== null) {
      const key = record.key
      const flat = key === null ? null : this.flatReadIn(key, 0, key.length, value, 0, value.length)
      if (flat !== null) return new FlatReadRecord(this.runOf(record, flat), 0, flat.after)
      const afterEnd = this.sameEnvelopeEnd(value)
      if (afterEnd >= 0) {
        const envelope = this.envelope as ChangeValue
        const after = parseOrUndefined(value, this.head.length, afterEnd)
        if (after !== undefined && !mayHaveLostDigits(after)) {
          return { topic: record.topic, partition: record.partition, offset: record.offset, key: decodeKey(record),
            value: { ...envelope, after: after as Record<string, unknown> }, valueSchema: this.valueSchema }
        }
      }
    }
    if (value !== null && this.schemaHead !== null) {
      const decoded = this.samePayloadSchema(record, value)
      if (decoded !== null) return decoded
    }
    const decoded = decodeRecord(record)
    this.remember(value, decoded)
    if (this.head !== null && record.key !== null) {
      // A snapshot read that starts a run: parsed already, and flat too when it qualifies, so a writer can take the
      // whole run's bytes.
      const flat = this.flatReadIn(record.key, 0, record.key.length, value as Buffer, 0, (value as Buffer).length)
      if (flat !== null) decoded.flat = { keyColumns: flat.keyColumns, after: { ...flat.after }, envelope: this.envelope as ChangeValue }
    }
    return decoded
  }

  /**
   * `decode` of the packed record `i` (a pipeline's reads, PackedView): a flat read is taken from the packed bytes
   * without a record object; anything else is decoded from the record built for it.
   */
  decodeAt(view: PackedView, i: number): DestinationRecord {
    const flat = this.head !== null && view.keyLength(i) !== ABSENT && view.valueLength(i) !== ABSENT ? this.flatReadAt(view, i) : null
    if (flat !== null) return new FlatReadRecord(this.runOf(view, flat), i, flat.after)
    return this.decode(view.record(i))
  }

  /** The run a flat read from `raw` belongs to: the last one when nothing it shares has changed. */
  private runOf(raw: LogRecord | PackedView, flat: Flat): FlatRun {
    const run = this.run
    const { after, keyColumns } = flat
    if (run !== null && run.raw === raw && run.spans === after.spans && run.bytes === after.bytes && run.layout === after.layout &&
      run.keyColumns === keyColumns && run.envelope === this.envelope && run.valueSchema === this.valueSchema) {
      return run
    }
    this.run = new FlatRun(raw, this.valueSchema, keyColumns, this.envelope as ChangeValue, after.layout, after.bytes, after.spans)
    return this.run
  }

  /** The packed record `i` as a flat read (see flatReadIn), or null. */
  private flatReadAt(view: PackedView, i: number): Flat | null {
    const keyAt = view.keyAt(i)
    const keyEnd = keyAt + view.keyLength(i)
    const valueAt = view.valueAt(i)
    const valueEnd = valueAt + view.valueLength(i)
    const frameIndex = view.frameIndex(i)
    if (frameIndex === ABSENT) return this.flatReadIn(view.bytes, keyAt, keyEnd, view.bytes, valueAt, valueEnd)
    // A snapshot read as the log keeps it: the envelope is the value's frame, the after image its own bytes. When the
    // frame is the remembered head and tail (compared once per frame), the after image is where flatReadIn would
    // find it.
    if (valueEnd <= valueAt || view.bytes[valueAt] !== OPEN_BRACE || !this.frameIsRemembered(view, frameIndex)) return null
    return this.flatRead(view.bytes, keyAt, keyEnd, view.bytes, valueAt, valueEnd)
  }

  /** Whether frame `k` of `view` is the remembered head and tail; the answer is kept until either changes. */
  private frameIsRemembered(view: PackedView, k: number): boolean {
    const known = this.frameCheck
    if (known !== null && known.view === view && known.index === k && known.head === this.head) return known.same
    const { prefix, suffix } = view.frame(k)
    const head = this.head as Buffer
    const tail = this.tail as Buffer
    const same = head.equals(prefix) && tail.equals(suffix)
    this.frameCheck = { view, index: k, head, same }
    return same
  }

  /**
   * The read whose key is `keyBytes[keyStart, keyEnd)` and value `bytes[start, end)` as a flat read, when the value
   * is the remembered head, a flat object and the remembered tail (scanned once, never parsed); else null.
   */
  private flatReadIn(keyBytes: Buffer, keyStart: number, keyEnd: number, bytes: Buffer, start: number, end: number): Flat | null {
    const head = this.head as Buffer
    const tail = this.tail as Buffer
    const afterStart = start + head.length
    const afterEnd = end - tail.length
    if (afterEnd <= afterStart || bytes[afterStart] !== OPEN_BRACE || !bytesAt(bytes, start, head) || !bytesAt(bytes, afterEnd, tail)) return null
    return this.flatRead(keyBytes, keyStart, keyEnd, bytes, afterStart, afterEnd)
  }

  /** Keeps what a fully decoded value offers the shortcuts (see above); forgets the last one's. */
  private remember(value: Buffer | null, decoded: DestinationRecord): void {
    this.head = null
    this.schemaHead = null
    if (value === null || decoded.value === null) return
    let payloadAt = 0
    if (decoded.valueSchema !== null) {
      const schemaEnd = bytesAt(value, 0, SCHEMA_HEAD) && value[SCHEMA_HEAD.length] === OPEN_BRACE ? compositeEnd(value, SCHEMA_HEAD.length) : -1
      if (schemaEnd < 0 || !bytesAt(value, schemaEnd, PAYLOAD_KEY)) return
      payloadAt = schemaEnd + PAYLOAD_KEY.length
      this.schemaHead = Buffer.from(value.subarray(0, payloadAt))
      this.schema = decoded.valueSchema
    }
    // A read whose after image held an int64 beyond 2^53 was parsed the exact way: its envelope is not JSON.parse's.
    if (decoded.value.op !== 'r' || holdsExactIntegers(decoded.value.after) || !bytesAt(value, payloadAt, NO_BEFORE_HEAD)) return
    const afterStart = payloadAt + NO_BEFORE_HEAD.length
    const afterEnd = value[afterStart] === OPEN_BRACE ? compositeEnd(value, afterStart) : -1
    if (afterEnd < 0) return
    this.head = Buffer.from(value.subarray(0, afterStart))
    this.tail = Buffer.from(value.subarray(afterEnd))
    this.envelope = decoded.value
    this.valueSchema = decoded.valueSchema
  }

  /** Where the after image ends when the value is the remembered head, an object and the remembered tail, else -1. */
  private sameEnvelopeEnd(value: Buffer): number {
    const head = this.head as Buffer
    const tail = this.tail as Buffer
    if (value[head.length] !== OPEN_BRACE || !bytesAt(value, 0, head)) return -1
    const afterEnd = compositeEnd(value, head.length)
    if (afterEnd < 0 || value.length - afterEnd !== tail.length || !bytesAt(value, afterEnd, tail)) return -1
    return afterEnd
  }

  /**
   * The key and after image scanned as flat objects (flat-json.ts), when both are and the key's values are the after
   * image's (a writer then takes them from there); else null. The scanner accepts only valid JSON, so such a record
   * decodes without error when its key and after image are parsed later (FlatReadRecord).
   */
  private flatRead(keyBytes: Buffer, keyStart: number, keyEnd: number, bytes: Buffer, afterStart: number, afterEnd: number): Flat | null {
    const after = this.afterScanner.scanReused(bytes, afterStart, afterEnd)
    // A row with an integer JSON.parse may round is decoded the exact way, envelope and all (decodeRecord).
    if (after === null || after.longIntegers) return null
    const key = this.keyScanner.scanTransient(keyBytes, keyStart, keyEnd)
    if (key === null || key.layout.names.length === 0) return null
    const positions = this.keyPositions(key.layout, after.layout)
    if (positions === null) return null
    for (let k = 0; k < positions.length; k++) if (!sameValue(key, k, after, positions[k])) return null
    this.flat.keyColumns = key.layout.names
    this.flat.after = after
    return this.flat
  }

  /** Where each key field is in the after image's layout; null when one is missing. */
  private keyPositions(key: FlatLayout, after: FlatLayout): number[] | null {
    const last = this.lastPositions
    if (last !== null && last.key === key && last.after === after) return last.positions
    // A key of fields named `schema` and `payload` is taken for a wrapper by decodeKey: left to decodeRecord.
    const wrapperLike = key.names.includes('schema') && key.names.includes('payload')
    const positions = key.names.map((name) => (wrapperLike ? -1 : after.names.indexOf(name)))
    this.lastPositions = { key, after, positions }
    return positions.includes(-1) ? null : positions
  }

  /** The record decoded parsing only its payload, when its schema bytes are the remembered ones; else null. */
  private samePayloadSchema(record: LogRecord, value: Buffer): DestinationRecord | null {
    const head = this.schemaHead as Buffer
    if (value[value.length - 1] !== CLOSE_BRACE || value.length <= head.length || !bytesAt(value, 0, head)) return null
    const payload = parseOrUndefined(value, head.length, value.length - 1)
    if (payload === undefined || rowsMayHaveLostDigits(payload)) return null
    return changeRecord(record, decodeKey(record), payload, this.schema)
  }
}

/**
 * What consecutive flat reads share: where they came from (a packed read, or the log record itself), their envelope,
 * key columns, after image layout and the scanner's span chunk. A record points here rather than holding each of
 * them: a delivered batch and the next, decoded meanwhile, keep 20,000 records alive across young collections, and
 * what they hold is what the collector copies and promotes.
 */
class FlatRun {
  constructor(
    readonly raw: LogRecord | PackedView,
    readonly valueSchema: unknown,
    readonly keyColumns: readonly string[],
    readonly envelope: ChangeValue,
    readonly layout: FlatLayout,
    readonly bytes: Buffer,
    readonly spans: Int32Array,
  ) {}
}

/**
 * A snapshot read whose key and after image are parsed when first read (by a writer that needs objects, or a
 * fallback): they were scanned as valid JSON, so parsing cannot fail, and gives what decodeRecord gives. A class with
 * getters rather than an object per record with its own: the flat path makes millions of these. It is its own after
 * image and its own FlatRead, and holds only what differs from the reads around it (see FlatRun).
 */
class FlatReadRecord implements DestinationRecord, FlatRead, FlatObject {
  private parsed: { key?: Record<string, unknown> | null; value?: ChangeValue } | null = null
  readonly start: number
  readonly end: number
  readonly spansAt: number

  /** `index`: the record's place in the run's packed read (0 for a log record). `after` may be a scanner's reused object. */
  constructor(private readonly run: FlatRun, private readonly index: number, after: FlatObject) {
    this.start = after.start
    this.end = after.end
    this.spansAt = after.spansAt
  }

  get layout(): FlatLayout {
    return this.run.layout
  }

  get bytes(): Buffer {
    return this.run.bytes
  }

  get spans(): Int32Array {
    return this.run.spans
  }

  /** A flat read never has integers JSON.parse may round (the decoder leaves those to decodeRecord). */
  get longIntegers(): boolean {
    return false
  }

  get keyColumns(): readonly string[] {
    return this.run.keyColumns
  }

  get envelope(): ChangeValue {
    return this.run.envelope
  }

  get valueSchema(): unknown {
    return this.run.valueSchema
  }

  get after(): FlatObject {
    return this
  }

  get flat(): FlatRead {
    return this
  }

  get topic(): string {
    const raw = this.run.raw
    return raw instanceof PackedView ? raw.topic(this.index) : raw.topic
  }

  get partition(): number {
    const raw = this.run.raw
    return raw instanceof PackedView ? raw.partition(this.index) : raw.partition
  }

  get offset(): number {
    const raw = this.run.raw
    return raw instanceof PackedView ? raw.offset(this.index) : raw.offset
  }

  get key(): Record<string, unknown> | null {
    const parsed = (this.parsed ??= {})
    if (parsed.key === undefined) {
      const raw = this.run.raw
      parsed.key = decodeKey(raw instanceof PackedView ? raw.record(this.index) : raw)
    }
    return parsed.key
  }

  get value(): ChangeValue {
    const parsed = (this.parsed ??= {})
    parsed.value ??= { ...this.run.envelope, after: parseRow(this) }
    return parsed.value
  }
}

/** A flat read's key columns and after image, as the decoder found them (see FlatRead). */
interface Flat {
  keyColumns: readonly string[]
  after: FlatObject
}

/** A flat object parsed, integers beyond 2^53 kept exact as decodeRecord keeps them. */
function parseRow(object: FlatObject): Record<string, unknown> {
  const row = JSON.parse(object.bytes.toString('utf8', object.start, object.end)) as Record<string, unknown>
  return mayHaveLostDigits(row) ? (parseExact(object.bytes.subarray(object.start, object.end)) as Record<string, unknown>) : row
}

/** JSON.parse of `bytes[start, end)`, or undefined where it is not JSON (decodeRecord then reports the record). */
function parseOrUndefined(bytes: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(bytes.toString('utf8', start, end))
  } catch {
    return undefined
  }
}
