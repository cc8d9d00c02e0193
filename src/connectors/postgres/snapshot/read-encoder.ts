/**
 * Snapshot rows (COPY text values) → the JSON text of their read events' key and `after` image, written straight
 * from the text: no Row object, no converted values in between. A snapshot writes every row of a table this way, and
 * building a ChangeEvent per row and encoding it again was the larger part of a snapshot's CPU time. The text is the
 * same as `encodeKey`/`encodeValue` write for `ChangeMapper.readEvent` of the row (tested side by side).
 */
import type { SourceInfo, TableSchema } from '../../../events/change-event.js'
import { textStructWriter } from '../../../events/envelope.js'
import type { Lsn } from '../replication/lsn.js'
import type { ChangeMapper, MappedTable } from '../streaming/change-mapper.js'

/** A read whose row images are JSON text; the emitter wraps them in the envelope once the marker is known. */
export interface EncodedRead {
  table: TableSchema
  /** The key struct's JSON, null for a keyless table. */
  key: string | null
  after: string
  /** Shared by the reads of the same millisecond; never changed once handed out. */
  source: SourceInfo
  processedAtUs: bigint
  /** The record's timestamp: the read time in ms. */
  timestampMs: number
}

interface TableWriters {
  json: Array<(text: string) => string>
  after: (texts: ReadonlyArray<string | null>) => string
  key: ((texts: ReadonlyArray<string | null>) => string) | null
}

export class ReadEncoder {
  private readonly writers = new WeakMap<TableSchema, TableWriters>()
  private last: { table: MappedTable; lsn: Lsn | null; readAtUs: bigint; source: SourceInfo; timestampMs: number } | null = null
  private texts: Array<string | null> = []

  constructor(private readonly mapper: ChangeMapper) {}

  /** `values`: the captured columns' text in `table.columns` order (the snapshot's SELECT list), null for NULL. */
  encode(table: MappedTable, values: ReadonlyArray<string | null>, lsn: Lsn | null, readAtUs: bigint): EncodedRead {
    const writers = this.writersFor(table)
    const json = writers.json
    // One scratch array: the writers below read it before the next row overwrites it.
    const texts = this.texts
    texts.length = json.length
    for (let i = 0; i < json.length; i++) {
      const text = values[i]
      texts[i] = text === null || text === undefined ? null : json[i](text)
    }
    const { source, timestampMs } = this.sourceFor(table, lsn, readAtUs)
    return {
      table: table.tableSchema,
      key: writers.key === null ? null : writers.key(texts),
      after: writers.after(texts),
      source,
      processedAtUs: readAtUs,
      timestampMs,
    }
  }

  private writersFor(table: MappedTable): TableWriters {
    let writers = this.writers.get(table.tableSchema)
    if (writers) return writers
    const schema = table.tableSchema
    const keyIndexes = schema.keyColumns.map((name) => schema.columns.findIndex((c) => c.field === name))
    writers = {
      json: table.columns.map((c) => c.mapping.json),
      after: textStructWriter(schema.columns),
      key: keyIndexes.length === 0 ? null : textStructWriter(keyIndexes.map((i) => schema.columns[i]), keyIndexes),
    }
    this.writers.set(schema, writers)
    return writers
  }

  /** Reads of the same table, position and millisecond share one SourceInfo (the envelope caches its JSON). */
  private sourceFor(table: MappedTable, lsn: Lsn | null, readAtUs: bigint): { source: SourceInfo; timestampMs: number } {
    const last = this.last
    if (last !== null && last.table === table && last.lsn === lsn && last.readAtUs === readAtUs) return last
    const source = this.mapper.sourceInfo(table, lsn, { xid: 0, commitTimeUs: readAtUs, lastCommitLsn: null }, 'true')
    this.last = { table, lsn, readAtUs, source, timestampMs: Number(readAtUs / 1000n) }
    return this.last
  }
}
