/**
 * Snapshot rows as COPY sends them (text format, one line of tab-separated fields) → the JSON of their read events'
 * `after` image and key, as bytes. Integers, booleans and text-like values (text, varchar, uuid, json, enums…) are
 * written straight from COPY's bytes, escapes translated from COPY's to JSON's on the way; other types go through
 * their converter as strings. No Row, ChangeEvent or string per value: building and encoding those was most of a
 * snapshot's CPU time. The bytes equal what `encodeKey`/`encodeValue` write for `ChangeMapper.readEvent` of the row
 * (tested side by side).
 *
 * Hand-written rather than a library: no JSON or CSV library writes Debezium's exact JSON from COPY's escapes.
 * COPY text format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
import type { SourceInfo, TableSchema } from '../../../events/change-event.js'
import { jsonString } from '../../../events/json.js'
import type { Lsn } from '../replication/lsn.js'
import type { ChangeMapper, MappedTable } from '../streaming/change-mapper.js'
import { type ByteJsonWriter, shortestFloatJson } from '../types/byte-json.js'
import { unescapeField } from '../types/copy-text.js'
import { type ByteWriter, utf8Text } from '../../../util/byte-writer.js'

/** What a row's record carries beside its JSON: shared by the rows of the same table and millisecond. */
export interface RowSource {
  /** Never changed once handed out. */
  source: SourceInfo
  /** The record's timestamp: the read time in ms. */
  timestampMs: number
}

const TAB = 0x09
const BACKSLASH = 0x5c
const QUOTE = 0x22
const LETTER_N = 0x4e
const LETTER_T = 0x74
const LETTER_U = 0x75
const LETTER_V = 0x76
const DIGIT_0 = 0x30
const HEX_DIGITS = Buffer.from('0123456789ABCDEF')
/** Output room a quoted value is written into at a time. */
const QUOTED_ROOM = 1024 * 1024

/**
 * COPY's escape letter → the letter of the same character's short JSON escape (Jackson's: \b \t \n \f \r, and \\);
 * 0 where there is none. `\v` is written `\u000B`; octal and hex escapes (which COPY TO never sends) take the slow path.
 */
const COPY_TO_JSON_ESCAPE = new Uint8Array(128)
for (const [copy, json] of [['b', 'b'], ['f', 'f'], ['n', 'n'], ['r', 'r'], ['t', 't'], ['\\', '\\']]) {
  COPY_TO_JSON_ESCAPE[copy.charCodeAt(0)] = json.charCodeAt(0)
}
/** 1 for a byte a quoted value keeps as it is: not a control character (tab included), quote or backslash. */
const PLAIN = new Uint8Array(256).fill(1)
for (let b = 0; b < 0x20; b++) PLAIN[b] = 0
PLAIN[QUOTE] = 0
PLAIN[BACKSLASH] = 0
/** A raw control byte's short JSON escape letter, 0 for `\u00XX`. */
const CONTROL_SHORT_ESCAPE = new Uint8Array(32)
for (const [code, json] of [[8, 'b'], [9, 't'], [10, 'n'], [12, 'f'], [13, 'r']] as const) CONTROL_SHORT_ESCAPE[code] = json.charCodeAt(0)

const NULL_JSON = Buffer.from('null')
const TRUE_JSON = Buffer.from('true')
const FALSE_JSON = Buffer.from('false')
const CLOSE = Buffer.from('}')
const EMPTY_STRUCT = Buffer.from('{}')

const enum Kind {
  /** The text is the JSON (integers). */
  Same,
  /** The text as a JSON string. */
  Quoted,
  /** `t` / `f`. */
  Boolean,
  /** Through the column's converter. */
  Converted,
}

interface Column {
  kind: Kind
  byteJson: ByteJsonWriter | null
  /** `{"name":` for the first column, `,"name":` after. */
  prefix: Buffer
  json: (text: string) => string
}

interface CompiledTable {
  columns: Column[]
  /** Per key column: its index among the columns and its prefix in the key struct. */
  key: Array<{ index: number; prefix: Buffer }>
  /** The highest index of a key column, -1 for none. */
  lastKey: number
  /** Where each field up to the last key column starts in the current row. */
  fieldStart: Int32Array
}

/**
 * Writes a row's key and after image as JSON into any ByteWriter: a record batch's, so a row's bytes are written once,
 * where they are stored (copying them there from a buffer of their own cost a sixth of a snapshot's main thread).
 */
export class CopyRowEncoder {
  private readonly compiled = new WeakMap<TableSchema, CompiledTable>()
  /** The last table compiled or looked up: rows come a table at a time. */
  private lastCompiled: { schema: TableSchema; compiled: CompiledTable } | null = null
  private last: { table: MappedTable; lsn: Lsn | null; readAtUs: bigint; source: SourceInfo; timestampMs: number } | null = null

  /**
   * `shortestFloats`: the session prints float8 in its shortest exact form (PostgreSQL 12+ with
   * `extra_float_digits` > 0), so such text of up to 17 digits is written as it is (byte-json.ts shortestFloatJson).
   */
  constructor(private readonly mapper: ChangeMapper, private readonly options: { shortestFloats?: boolean } = {}) {}

  /** Whether the table's rows have a key (else their records' keys are null). */
  hasKey(table: MappedTable): boolean {
    return this.compile(table).key.length > 0
  }

  /**
   * Writes the JSON of the key of the row `line[start, end)` (without its newline; its fields in `table.columns`
   * order, the snapshot's SELECT list) into `out`, after whatever `out` holds. Only for a table with a key.
   */
  writeKey(table: MappedTable, line: Buffer, start: number, end: number, out: ByteWriter): void {
    const { columns, key, lastKey, fieldStart } = this.compile(table)
    let pos = start
    for (let c = 0; c <= lastKey; c++) {
      if (c > 0) {
        pos = fieldEnd(line, pos, end)
        if (pos >= end) throw fieldCountError(table, 'fewer')
        pos++ // the tab
      }
      fieldStart[c] = pos
    }
    for (let k = 0; k < key.length; k++) {
      const { index, prefix } = key[k]
      out.range(prefix)
      writeField(columns[index], line, fieldStart[index], end, out)
    }
    out.range(CLOSE)
  }

  /** Writes the JSON of the after image of the row `line[start, end)` (see `writeKey`) into `out`. */
  writeAfter(table: MappedTable, line: Buffer, start: number, end: number, out: ByteWriter): void {
    const { columns } = this.compile(table)
    if (columns.length === 0) {
      // No captured columns: the SELECT list was a lone NULL.
      out.range(EMPTY_STRUCT)
      return
    }
    let pos = start
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) {
        if (pos >= end) throw fieldCountError(table, 'fewer')
        pos++ // the tab
      }
      const column = columns[c]
      out.range(column.prefix)
      pos = writeField(column, line, pos, end, out)
    }
    if (pos !== end) throw fieldCountError(table, 'more')
    out.range(CLOSE)
  }

  /** Rows of the same table, position and millisecond share one SourceInfo (the envelope caches its JSON). */
  sourceFor(table: MappedTable, lsn: Lsn | null, readAtUs: bigint): RowSource {
    const last = this.last
    if (last !== null && last.table === table && last.lsn === lsn && last.readAtUs === readAtUs) return last
    const source = this.mapper.sourceInfo(table, lsn, { xid: 0, commitTimeUs: readAtUs, lastCommitLsn: null }, 'true')
    this.last = { table, lsn, readAtUs, source, timestampMs: Number(readAtUs / 1000n) }
    return this.last
  }

  private compile(table: MappedTable): CompiledTable {
    const schema = table.tableSchema
    if (this.lastCompiled?.schema === schema) return this.lastCompiled.compiled
    let compiled = this.compiled.get(schema)
    if (compiled) {
      this.lastCompiled = { schema, compiled }
      return compiled
    }
    const prefix = (name: string, i: number) => Buffer.from(`${i === 0 ? '{' : ','}${jsonString(name)}:`)
    compiled = {
      columns: table.columns.map(({ name, mapping }, i) => ({
        kind: mapping.textJson === 'same' ? Kind.Same : mapping.textJson === 'quoted' ? Kind.Quoted : mapping.textJson === 'boolean' ? Kind.Boolean : Kind.Converted,
        prefix: prefix(name, i),
        byteJson: this.options.shortestFloats && mapping.schema.type === 'float64' ? shortestFloatJson : mapping.byteJson,
        json: mapping.json,
      })),
      key: schema.keyColumns.map((name, i) => ({ index: table.columns.findIndex((c) => c.name === name), prefix: prefix(name, i) })),
      lastKey: -1,
      fieldStart: new Int32Array(table.columns.length),
    }
    compiled.lastKey = Math.max(-1, ...compiled.key.map((k) => k.index))
    this.compiled.set(schema, compiled)
    this.lastCompiled = { schema, compiled }
    return compiled
  }
}

/** The end of the field starting at `pos`: a raw tab is always a delimiter (tabs in values are escaped). */
function fieldEnd(line: Buffer, pos: number, end: number): number {
  while (pos < end && line[pos] !== TAB) pos++
  return pos
}

/** Writes the JSON of the field starting at `pos` (`\\N`, a null, or a value ending at a raw tab or `end`); returns its end. */
function writeField(column: Column, line: Buffer, pos: number, end: number, out: ByteWriter): number {
  if (line[pos] === BACKSLASH && pos + 1 < end && line[pos + 1] === LETTER_N && (pos + 2 === end || line[pos + 2] === TAB)) {
    out.range(NULL_JSON)
    return pos + 2
  }
  // A quoted value is scanned for its end as it is written; the others are found first.
  const stop = column.kind === Kind.Quoted ? writeQuoted(line, pos, end, out) : -1
  return stop >= 0 ? stop : writeValue(column, line, pos, fieldEnd(line, pos, end), out)
}

/** Writes the value of `line[pos, stop)` as JSON; returns `stop`. */
function writeValue(column: Column, line: Buffer, pos: number, stop: number, out: ByteWriter): number {
  switch (column.kind) {
    case Kind.Same:
      out.range(line, pos, stop)
      return stop
    case Kind.Boolean:
      out.range(line[pos] === LETTER_T ? TRUE_JSON : FALSE_JSON)
      return stop
    case Kind.Quoted:
      // writeQuoted found an escape it does not translate: the converter takes the text.
      break
    case Kind.Converted:
      if (column.byteJson !== null && column.byteJson(line, pos, stop, out)) return stop
      break
  }
  let text = utf8Text(line, pos, stop)
  if (text.includes('\\')) text = unescapeField(text)
  out.utf8(column.json(text))
  return stop
}

/**
 * Writes the field starting at `pos` (it ends at the next raw tab, or at `end`) as a JSON string, translating COPY's
 * escapes to JSON's and escaping what JSON requires (as `jsonString` does: quotes, backslashes, control characters;
 * UTF-8 bytes as they are); returns where the field ends. Returns -1, having written nothing (`out.length` as it
 * was), for an escape with no direct translation (octal or hex: COPY TO does not send them).
 */
function writeQuoted(line: Buffer, pos: number, end: number, out: ByteWriter): number {
  const start = out.length
  // Written in stretches with room made for their worst case (6 bytes out per byte in, `\u00XX`, and the quotes), so
  // the byte loop checks for room once a stretch: the rest of the row, or a megabyte of it, so a huge value does not
  // reserve six times its size at once.
  let bytes = out.ensure(Math.min(end - pos, QUOTED_ROOM) * 6 + 2)
  let o = start
  bytes[o++] = QUOTE
  let i = pos
  let stretchEnd = Math.min(end, pos + QUOTED_ROOM)
  for (;;) {
    if (i >= stretchEnd) {
      if (i >= end) break
      out.length = o
      bytes = out.ensure(Math.min(end - i, QUOTED_ROOM) * 6 + 1)
      stretchEnd = Math.min(end, i + QUOTED_ROOM)
    }
    const b = line[i]
    if (PLAIN[b] === 1) {
      bytes[o++] = b
      i++
    } else if (b === TAB) {
      // A raw tab is the delimiter (COPY escapes tabs in values).
      break
    } else if (b === QUOTE) {
      bytes[o++] = BACKSLASH
      bytes[o++] = QUOTE
      i++
    } else if (b === BACKSLASH) {
      const next = i + 1 < end ? line[i + 1] : 0
      const escape = next < 128 ? COPY_TO_JSON_ESCAPE[next] : 0
      if (escape !== 0) {
        bytes[o++] = BACKSLASH
        bytes[o++] = escape
      } else if (next === LETTER_V) {
        o = writeUnicodeEscape(bytes, o, 0x0b)
      } else {
        out.length = start
        return -1
      }
      // Two bytes in, at most six out: within the room of the backslash alone, even as a stretch's last byte.
      i += 2
    } else {
      const short = CONTROL_SHORT_ESCAPE[b]
      if (short !== 0) {
        bytes[o++] = BACKSLASH
        bytes[o++] = short
      } else {
        o = writeUnicodeEscape(bytes, o, b)
      }
      i++
    }
  }
  bytes[o++] = QUOTE
  out.length = o
  return i
}

/** `\u00XX` with upper-case hex digits, as Jackson writes a control character. */
function writeUnicodeEscape(bytes: Buffer, o: number, code: number): number {
  bytes[o++] = BACKSLASH
  bytes[o++] = LETTER_U
  bytes[o++] = DIGIT_0
  bytes[o++] = DIGIT_0
  bytes[o++] = HEX_DIGITS[code >> 4]
  bytes[o++] = HEX_DIGITS[code & 15]
  return o
}

function fieldCountError(table: MappedTable, which: 'fewer' | 'more'): Error {
  return new Error(`a COPY row of ${table.schema}.${table.table} has ${which} fields than the ${table.columns.length} columns read`)
}
