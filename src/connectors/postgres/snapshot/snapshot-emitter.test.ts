import { describe, expect, it } from 'vitest'
import type { RecordBatch } from '../../../log/record-batch.js'
import type { TopicLog } from '../../../log/topic-log.js'
import { newSourceMetrics } from '../../source.js'
import { parsePostgresConfig } from '../postgres-config.js'
import { ChangeMapper } from '../streaming/change-mapper.js'
import * as oid from '../types/pg-oids.js'
import { TypeRegistry } from '../types/type-registry.js'
import { CopyRowEncoder } from './copy-row-encoder.js'
import { SnapshotEmitter } from './snapshot-emitter.js'

const config = parsePostgresConfig({ 'database.hostname': 'db', 'database.dbname': 'app', 'database.user': 'u', 'database.password': 'p' }, 'src')
const mapper = new ChangeMapper(config, new TypeRegistry([]))
const table = mapper.defineRelation(
  { tag: 'relation', relationId: 1, schema: 'public', name: 't', replicaIdentity: 'default',
    columns: [{ isKey: true, name: 'id', typeOid: oid.INT8, typeMod: -1 }, { isKey: false, name: 'note', typeOid: oid.TEXT, typeMod: -1 }] },
  { primaryKey: ['id'], notNull: new Set(['id']) },
)
const encoder = new CopyRowEncoder(mapper)

/** A log whose appends wait until the test settles them, recording each batch's records' markers. */
function controlledLog() {
  const appends: Array<{ markers: string[]; keys: string[]; settle: (error?: Error) => void }> = []
  const log = {
    append(batch: RecordBatch) {
      const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8')
      const records = batch.toAppendRecords()
      const markers = records.map((r) => JSON.parse(`${text(r.frame?.prefix)}${text(r.value)}${text(r.frame?.suffix)}`).source.snapshot as string)
      const keys = records.map((r) => text(r.key))
      return new Promise((resolve, reject) => {
        appends.push({ markers, keys, settle: (error) => (error ? reject(error) : resolve([])) })
      })
    },
  } as unknown as TopicLog
  return { log, appends }
}

/** Emits rows `from` to `to` (exclusive) as COPY chunks of 500 rows; returns the hand-overs to wait for. */
function emitRows(emitter: SnapshotEmitter, from: number, to: number): Array<Promise<void>> {
  const waits: Array<Promise<void>> = []
  for (let first = from; first < to; first += 500) {
    const full = emitLines(emitter, Array.from({ length: Math.min(500, to - first) }, (_, i) => `${first + i}\trow ${first + i}`))
    if (full) waits.push(full)
  }
  return waits
}

/** Emits COPY lines as one chunk, each line a row (as the framer finds them: between 5-byte message headers). */
function emitLines(emitter: SnapshotEmitter, lines: string[]): Promise<void> | undefined {
  const ranges = new Int32Array(2 * lines.length)
  let text = ''
  lines.forEach((line, i) => {
    text += 'HEADR'
    ranges[2 * i] = Buffer.byteLength(text)
    text += line
    ranges[2 * i + 1] = Buffer.byteLength(text)
    text += '\n'
  })
  return emitter.emitRows(table, Buffer.from(text), ranges, lines.length, null, 1_000_000n)
}

/** Lets pending callbacks run (appends start in a promise callback). */
async function ticks(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Ends a table or the run and lets the append it hands over (the `index`th) succeed. */
async function checkpointSettled(emitter: SnapshotEmitter, edge: 'table' | 'run', appends: Array<{ settle: () => void }>, index: number): Promise<void> {
  const end = emitter.checkpoint(edge)
  await ticks()
  appends[index].settle()
  await end
}

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(() => (done = true), () => (done = true))
  await ticks()
  return done
}

describe('SnapshotEmitter.emitted (a chunk ends without stopping the read)', () => {
  it('resolves once the batches that follow carry every record emitted so far into the log, held record included', async () => {
    const { log, appends } = controlledLog()
    const emitter = new SnapshotEmitter(log, config, newSourceMetrics(), encoder)
    emitter.startTable()
    emitRows(emitter, 1, 4)
    const chunkDurable = emitter.emitted()
    expect(await settled(chunkDurable)).toBe(false)
    expect(appends).toHaveLength(0) // nothing was cut or flushed for it

    // The next chunk's rows fill a batch (2,000 records): the first chunk's held row is released into it.
    emitRows(emitter, 4, 2004)
    await ticks()
    expect(appends).toHaveLength(1)
    expect(await settled(chunkDurable)).toBe(false)
    appends[0].settle()
    expect(await settled(chunkDurable)).toBe(true)

    // The table's end still marks its last record and waits for the log.
    const end = emitter.checkpoint('run')
    await settled(end)
    appends[1].settle()
    await end
    expect(appends[0].markers[0]).toBe('first')
    expect(appends[0].markers.slice(1)).toEqual(Array(1999).fill('true'))
    expect(appends[1].markers.at(-1)).toBe('last')
    // Nothing emitted since: already durable.
    expect(await settled(emitter.emitted())).toBe(true)
  })

  it('never resolves when the append carrying it fails; the read learns of it from its next emit', async () => {
    const { log, appends } = controlledLog()
    const emitter = new SnapshotEmitter(log, config, newSourceMetrics(), encoder)
    emitter.startTable()
    emitRows(emitter, 1, 10)
    const chunkDurable = emitter.emitted()
    emitRows(emitter, 10, 2010)
    await ticks()
    appends[0].settle(new Error('disk full'))
    expect(await settled(chunkDurable)).toBe(false)
    // The next full batch waits on the failed one and fails with it.
    const waits = emitRows(emitter, 2010, 4011)
    expect(waits).toHaveLength(1)
    await expect(waits[0]).rejects.toThrow('disk full')
  })
})

describe('SnapshotEmitter markers and records', () => {
  it('stamps table edges on the held record once the edge is known, and a row that fails to encode adds nothing', async () => {
    const { log, appends } = controlledLog()
    const emitter = new SnapshotEmitter(log, config, newSourceMetrics(), encoder)
    emitter.startTable()
    emitRows(emitter, 1, 3)
    // One field too many: the encoder throws part way through writing the row into the batch.
    expect(() => emitLines(emitter, ['3\tnote\textra'])).toThrow('more fields')
    emitRows(emitter, 3, 4)
    await checkpointSettled(emitter, 'table', appends, 0)
    emitter.startTable()
    emitRows(emitter, 4, 5)
    await checkpointSettled(emitter, 'run', appends, 1)
    expect(appends.map((a) => a.markers)).toEqual([['first', 'true', 'last_in_data_collection'], ['last']])
    expect(appends.map((a) => a.keys)).toEqual([['{"id":1}', '{"id":2}', '{"id":3}'], ['{"id":4}']])
  })

  it('cuts a chunk of more rows than a batch holds into full batches, in order, markers where they belong', async () => {
    const { log, appends } = controlledLog()
    const emitter = new SnapshotEmitter(log, config, newSourceMetrics(), encoder)
    emitter.startTable()
    const full = emitLines(emitter, Array.from({ length: 4500 }, (_, i) => `${i + 1}\t`))
    expect(full).toBeInstanceOf(Promise)
    // Both full batches go to the log at once (three may be in flight), and the read goes on meanwhile.
    await full
    expect(appends.map((a) => a.keys.length)).toEqual([2000, 2000])
    appends[0].settle()
    appends[1].settle()
    await checkpointSettled(emitter, 'run', appends, 2)
    const keys = appends.flatMap((a) => a.keys)
    expect(keys).toEqual(Array.from({ length: 4500 }, (_, i) => `{"id":${i + 1}}`))
    const markers = appends.flatMap((a) => a.markers)
    expect([markers[0], markers[1], markers[2000], markers.at(-2), markers.at(-1)]).toEqual(['first', 'true', 'true', 'true', 'last'])
  })

  it('a row that fails right after a full batch was handed over leaves an edge nothing to re-mark in the old batch', async () => {
    const { log, appends } = controlledLog()
    const emitter = new SnapshotEmitter(log, config, newSourceMetrics(), encoder)
    emitter.startTable()
    emitRows(emitter, 1, 2001)
    // The batch of 2,000 is handed over first (a row arrived), then the row turns out to have too few fields.
    expect(() => emitLines(emitter, ['2001'])).toThrow('fewer fields')
    await checkpointSettled(emitter, 'table', appends, 0)
    expect(appends).toHaveLength(1)
    expect(appends[0].markers.at(-1)).toBe('true')
    expect(appends[0].keys.at(-1)).toBe('{"id":2000}')
  })
})
