/**
 * Envelope encoding throughput: small events (6 columns) encoded to Debezium JSON on one core, against a raw
 * baseline measured in the same run (JSON.stringify of a similar plain object, which is not Debezium-compatible
 * but bounds what building a string can do). Run: `npx tsx bench/encode.bench.ts [--out results.json]` (default
 * bench/results/encode.json).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChangeEvent, TableSchema } from '../src/events/change-event.js'
import { encodeKey, encodeValue } from '../src/events/envelope.js'

const DECIMAL = 'org.apache.kafka.connect.data.Decimal'
const TABLE: TableSchema = {
  schema: 'public',
  table: 'orders',
  columns: [
    { field: 'id', type: 'int64', optional: false },
    { field: 'customer', type: 'string', optional: true },
    { field: 'amount', type: 'bytes', optional: true, name: DECIMAL, version: 1, parameters: { scale: '2' } },
    { field: 'created_at', type: 'string', optional: true, name: 'io.debezium.time.ZonedTimestamp', version: 1 },
    { field: 'paid', type: 'boolean', optional: true },
    { field: 'weight', type: 'float64', optional: true },
  ],
  keyColumns: ['id'],
}

function makeEvent(i: number): ChangeEvent {
  return {
    op: 'c',
    table: TABLE,
    before: null,
    after: {
      id: i,
      customer: `customer-${i % 1000}`,
      amount: 'AeIT',
      created_at: '2026-11-30T03:51:30.123456Z',
      paid: i % 2 === 0,
      weight: i / 7,
    },
    source: {
      name: 'sluice',
      db: 'shop',
      schema: 'public',
      table: 'orders',
      commitTimeUs: 1780000000000000n + BigInt(i),
      snapshot: 'false',
      txId: 1000 + i,
      lsn: 26201024n + BigInt(i * 64),
      lastCommitLsn: 26201000n,
      xmin: null,
    },
    processedAtUs: 1780000000500000n + BigInt(i),
    transaction: null,
  }
}

const EVENTS = Array.from({ length: 10_000 }, (_, i) => makeEvent(i))

function measure(name: string, run: (e: ChangeEvent) => number, minMs = 1500): number {
  for (const e of EVENTS) run(e) // warm-up
  let count = 0
  let bytes = 0
  const start = process.hrtime.bigint()
  let elapsedMs = 0
  while (elapsedMs < minMs) {
    for (const e of EVENTS) bytes += run(e)
    count += EVENTS.length
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6
  }
  const perSecond = (count / elapsedMs) * 1000
  const rate = Math.round(perSecond).toLocaleString('en-US').padStart(12)
  console.log(`${name.padEnd(36)} ${rate} events/s  (${Math.round(bytes / count)} B/event)`)
  return perSecond
}

function plain(e: ChangeEvent): unknown {
  const source = { ...e.source, commitTimeUs: `${e.source.commitTimeUs}`, lsn: `${e.source.lsn}`, lastCommitLsn: '' }
  return { before: e.before, after: e.after, source, op: e.op, ts_us: `${e.processedAtUs}` }
}

const off = { schemasEnable: false }
const baseline = measure('baseline JSON.stringify', (e) => Buffer.from(JSON.stringify(plain(e))).length)
const value = measure('encodeValue (schemas off)', (e) => encodeValue(e, off).length)
const keyAndValue = measure('encodeKey+encodeValue (schemas off)', (e) => {
  return (encodeKey(e, off)?.length ?? 0) + encodeValue(e, off).length
})
const withSchema = measure('encodeValue (schemas on)', (e) => encodeValue(e, { schemasEnable: true }).length)

const ratio = (x: number) => Number((x / baseline).toFixed(2))
const result = {
  benchmark: 'encode',
  eventsPerSecond: {
    baseline: Math.round(baseline),
    value: Math.round(value),
    keyAndValue: Math.round(keyAndValue),
    valueWithSchema: Math.round(withSchema),
  },
  ratioToBaseline: { value: ratio(value), keyAndValue: ratio(keyAndValue), valueWithSchema: ratio(withSchema) },
}
console.log(JSON.stringify(result))
const outIndex = process.argv.indexOf('--out')
const out = outIndex > 0 && process.argv[outIndex + 1] ? process.argv[outIndex + 1] : join(import.meta.dirname, 'results', 'encode.json')
writeFileSync(out, `${JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2)}\n`)
