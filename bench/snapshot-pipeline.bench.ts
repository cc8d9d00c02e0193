/**
 * The snapshot's main-thread work alone, offline: the snapshot bench's rows (its eight mixed columns) as COPY's
 * protocol bytes in 64 KiB socket chunks, through the framer, the row encoder and the emitter into record batches,
 * with no socket, no PostgreSQL and (by default) a log that only packs each batch. It tells what the main thread
 * costs a row when nothing else runs beside it; the snapshot bench's section (e) tells what it costs inside a run.
 * With `--log threaded` the batches go to the real threaded log (fsync on, a temporary directory) and the log's
 * thread is measured too.
 *
 * Baseline, in the same run: the framer alone over the same chunks (finding each row, what any reader of COPY must
 * do). Figures: ns a row (wall, best and median of the rounds), CPU ns a row per thread from /proc (Linux), and the
 * ratio of the pipeline's best to the baseline's. Asserts nothing; writes bench/results/snapshot-pipeline.json.
 * Run: `npx tsx bench/snapshot-pipeline.bench.ts [--rows 500000] [--rounds 8] [--log stub|threaded]`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CopyDataFramer } from '../src/connectors/postgres/snapshot/copy-data-framer.js'
import { CopyRowEncoder } from '../src/connectors/postgres/snapshot/copy-row-encoder.js'
import { SnapshotEmitter } from '../src/connectors/postgres/snapshot/snapshot-emitter.js'
import { parsePostgresConfig } from '../src/connectors/postgres/postgres-config.js'
import { ChangeMapper } from '../src/connectors/postgres/streaming/change-mapper.js'
import * as oid from '../src/connectors/postgres/types/pg-oids.js'
import { TypeRegistry } from '../src/connectors/postgres/types/type-registry.js'
import { newSourceMetrics } from '../src/connectors/source.js'
import type { RecordBatch } from '../src/log/record-batch.js'
import { createThreadedTopicLog } from '../src/log/threaded/threaded-topic-log.js'
import type { TopicLog } from '../src/log/topic-log.js'
import { cpuSecondsOf } from './proc-stat.js'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    rounds: { type: 'string', default: '8' },
    log: { type: 'string', default: 'stub' },
  },
})
const ROWS = Number(args.rows)
const ROUNDS = Math.max(2, Number(args.rounds))
const threaded = args.log === 'threaded'

// The snapshot bench's table: int8 key, text, numeric(12,2), timestamptz, bool, a small jsonb, uuid, float8.
const numericMod = (precision: number, scale: number) => ((precision << 16) | scale) + 4
const COLUMNS = [
  { name: 'id', typeOid: oid.INT8 }, { name: 'name', typeOid: oid.TEXT }, { name: 'amount', typeOid: oid.NUMERIC, typeMod: numericMod(12, 2) },
  { name: 'created_at', typeOid: oid.TIMESTAMPTZ }, { name: 'active', typeOid: oid.BOOL }, { name: 'meta', typeOid: oid.JSONB },
  { name: 'ref', typeOid: oid.UUID }, { name: 'score', typeOid: oid.FLOAT8 },
]
const config = parsePostgresConfig({ 'database.hostname': 'db', 'database.dbname': 'app', 'database.user': 'u', 'database.password': 'p' }, 'bench')
const mapper = new ChangeMapper(config, new TypeRegistry([]))
const table = mapper.defineRelation(
  { tag: 'relation', relationId: 1, schema: 'public', name: 'snap_rows', replicaIdentity: 'default',
    columns: COLUMNS.map((c) => ({ isKey: c.name === 'id', name: c.name, typeOid: c.typeOid, typeMod: c.typeMod ?? -1 })) },
  { primaryKey: ['id'], notNull: new Set(['id']) },
)

/** Row `g` as PostgreSQL's COPY text sends it for the bench's INSERT … SELECT (UTC session, shortest floats). */
function copyLine(g: number): string {
  const ts = new Date(Date.UTC(2026, 10, 30) - g * 1000).toISOString().replace('T', ' ').replace('.000Z', '.123456+00')
  return [g, `customer-${g}-3c59dc048e88`, ((g % 100000) / 100).toFixed(2), ts, g % 2 === 0 ? 't' : 'f',
    `{"k": ${g % 1000}, "tag": "t${g % 7}"}`, 'c4ca4238-a0b9-2382-0dcc-509a6f75849b', String(g / 7)].join('\t')
}

// CopyData messages ('d', length, the line and its newline), then CopyDone, cut into 64 KiB chunks as a socket would.
const messages: Buffer[] = []
for (let g = 1; g <= ROWS; g++) {
  const line = Buffer.from(`${copyLine(g)}\n`)
  const header = Buffer.alloc(5)
  header[0] = 0x64
  header.writeUInt32BE(line.length + 4, 1)
  messages.push(header, line)
}
messages.push(Buffer.from([0x63, 0, 0, 0, 4]))
const stream = Buffer.concat(messages)
const chunks: Buffer[] = []
for (let at = 0; at < stream.length; at += 65536) chunks.push(Buffer.from(stream.subarray(at, at + 65536)))

const logDir = threaded ? mkdtempSync(join(tmpdir(), 'sluice-pipeline-bench-')) : null
const log: TopicLog = logDir
  ? await createThreadedTopicLog({ dir: logDir })
  : ({ append: async (batch: RecordBatch) => (batch.pack(), []) } as unknown as TopicLog)
if (logDir) await log.createTopic(table.topic)

async function pipeline(): Promise<void> {
  const encoder = new CopyRowEncoder(mapper, { shortestFloats: true })
  const emitter = new SnapshotEmitter(log, config, newSourceMetrics(), encoder)
  const framer = new CopyDataFramer()
  emitter.startTable()
  const readAtUs = 1_790_000_000_000_000n
  for (const chunk of chunks) {
    for (const { bytes, rows, count } of framer.push(chunk)) {
      const full = emitter.emitRows(table, bytes, rows, count, null, readAtUs)
      if (full) await full
    }
  }
  await emitter.checkpoint('run')
}

let framed = 0
async function framerOnly(): Promise<void> {
  const framer = new CopyDataFramer()
  for (const chunk of chunks) for (const { count } of framer.push(chunk)) framed += count
}

/** CPU seconds per thread of this process (/proc/self/task; empty where there is no /proc). */
function threadCpu(): Map<string, number> {
  const cpu = new Map<string, number>()
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      cpu.set(tid, cpuSecondsOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')).own)
    }
  } catch {
    // no /proc
  }
  return cpu
}

async function measure(label: string, work: () => Promise<void>) {
  const wall: number[] = []
  const perThread: Array<Record<string, number>> = []
  for (let round = 0; round < ROUNDS; round++) {
    const before = threadCpu()
    const t0 = performance.now()
    await work()
    wall.push(((performance.now() - t0) * 1e6) / ROWS)
    const after = threadCpu()
    const used = [...after].map(([tid, s]) => [tid === String(process.pid) ? 'main' : tid, ((s - (before.get(tid) ?? 0)) * 1e9) / ROWS] as const)
    perThread.push(Object.fromEntries(used.filter(([, ns]) => ns > 0).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, ns]) => [t, Math.round(ns)])))
  }
  const sorted = [...wall].sort((a, b) => a - b)
  const result = { bestNsPerRow: Math.round(sorted[0]), medianNsPerRow: Math.round(sorted[sorted.length >> 1]), cpuNsPerRowByThread: perThread.slice(1) }
  console.log(`${label}: best ${result.bestNsPerRow} ns a row, median ${result.medianNsPerRow} (wall, ${ROUNDS} rounds of ${ROWS.toLocaleString('en-US')} rows; ` +
    `the first warms up); CPU ns a row by thread, last round: ${JSON.stringify(perThread.at(-1))}`)
  return result
}

console.log(`snapshot pipeline bench: ${ROWS.toLocaleString('en-US')} rows, ${chunks.length} chunks of 64 KiB, log: ${threaded ? 'threaded (fsync on)' : 'stub (packs and drops)'}; node ${process.version}`)
const baseline = await measure('baseline, the framer alone', framerOnly)
if (framed !== ROWS * ROUNDS) throw new Error(`the framer found ${framed} rows, expected ${ROWS * ROUNDS}`)
const measured = await measure('framer → encoder → emitter → batches', pipeline)
const ratio = measured.bestNsPerRow / baseline.bestNsPerRow
console.log(`the pipeline costs ${ratio.toFixed(1)}× the framer alone`)
if (logDir) {
  await log.close()
  rmSync(logDir, { recursive: true, force: true })
}
const out = threaded ? 'snapshot-pipeline-threaded.json' : 'snapshot-pipeline.json'
writeFileSync(join(import.meta.dirname, 'results', out), `${JSON.stringify({
  benchmark: 'snapshot-pipeline', date: new Date().toISOString(), node: process.version, rows: ROWS, rounds: ROUNDS, log: threaded ? 'threaded' : 'stub',
  baseline, pipeline: measured, ratioToBaseline: Number(ratio.toFixed(2)),
}, null, 2)}\n`)
console.log(`wrote bench/results/${out}`)
