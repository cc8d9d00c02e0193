import { describe, expect, it } from 'vitest'
import type { DestinationRecord } from '../destination.js'
import { planRegular, tableNameFor } from './batch-plan.js'

let offset = 0
function record(table: string, op: 'c' | 'u' | 'd' | 't', row: Record<string, unknown> | null, key: Record<string, unknown> | null = row && { id: row.id }): DestinationRecord {
  return {
    topic: `p.public.${table}`,
    partition: 0,
    offset: offset++,
    key,
    value: { before: op === 'd' ? row : null, after: op === 'd' || op === 't' ? null : row, source: { table, lsn: 1, ts_ms: 2 }, op },
    valueSchema: null,
  }
}

describe('planRegular', () => {
  it('keeps the last event per key and splits upserts from deletes', () => {
    const steps = planRegular(
      [record('a', 'c', { id: 1, v: 1 }), record('a', 'u', { id: 1, v: 2 }), record('a', 'c', { id: 2, v: 1 }), record('a', 'd', { id: 2, v: 1 }), record('a', 'd', { id: 3 })],
      'upsert',
    )
    expect(steps.map((s) => [s.kind, s.kind === 'truncate' ? null : s.rows])).toEqual([
      ['upsert', [{ id: 1, v: 2 }]],
      ['delete', [{ id: 2 }, { id: 3 }]],
    ])
  })

  it("writes the key's values over the after image's, without touching the event", () => {
    const same = record('a', 'c', { id: 1, v: 1 })
    const differs = record('a', 'c', { id: 2, v: 2 }, { id: 2, extra: 'k' })
    const steps = planRegular([same, differs], 'upsert')
    expect(steps.map((s) => (s.kind === 'truncate' ? null : s.rows))).toEqual([[{ id: 1, v: 1 }], [{ id: 2, v: 2, extra: 'k' }]])
    // The row is the event's own after image only where nothing had to change; the event keeps its values.
    expect(steps[0].kind === 'upsert' && steps[0].rows[0]).toBe(same.value?.after)
    expect(differs.value?.after).toEqual({ id: 2, v: 2 })
  })

  it('skips tombstones and applies what came before a truncate first', () => {
    const tombstone = { ...record('a', 'd', { id: 1 }), value: null }
    const steps = planRegular([record('a', 'c', { id: 1 }), tombstone, record('a', 't', null), record('a', 'c', { id: 2 })], 'upsert')
    expect(steps.map((s) => s.kind)).toEqual(['upsert', 'truncate', 'upsert'])
  })

  it('appends keyless tables and every table in insert mode, with the change position', () => {
    const keyless = planRegular([record('k', 'c', { at: 1 }, null), record('k', 'c', { at: 1 }, null)], 'upsert')
    expect(keyless).toHaveLength(1)
    expect(keyless[0].kind).toBe('append')
    const inserted = planRegular([record('a', 'c', { id: 1 }), record('a', 'd', { id: 1 })], 'insert')
    expect(inserted[0].kind === 'append' && inserted[0].rows.map((r) => [r.__op, r.id])).toEqual([['c', 1], ['d', 1]])
  })

  it('keeps tables apart and composite keys distinct', () => {
    const steps = planRegular(
      [record('a', 'c', { x: 1, y: 2 }, { x: 1, y: 2 }), record('a', 'c', { x: 1, y: 3 }, { x: 1, y: 3 }), record('b', 'c', { id: 1 })],
      'upsert',
    )
    expect(steps.map((s) => [s.table, s.kind === 'truncate' ? 0 : s.rows.length])).toEqual([['a', 2], ['b', 1]])
  })

  it('fills an unchanged TOASTed value from an earlier event of the batch, and leaves it out otherwise', () => {
    const P = '__debezium_unavailable_value'
    const steps = planRegular([record('a', 'c', { id: 1, body: 'big', n: 1 }), record('a', 'u', { id: 1, body: P, n: 2 }), record('a', 'u', { id: 2, body: P, n: 2 })], 'upsert')
    expect(steps.map((s) => s.kind !== 'truncate' && s.rows)).toEqual([[{ id: 1, body: 'big', n: 2 }], [{ id: 2, n: 2 }]])
  })
})

describe('tableNameFor', () => {
  const from = (topic: string, table: string | null): DestinationRecord => ({
    topic, partition: 0, offset: 0, key: null, valueSchema: null,
    value: table === null ? null : { before: null, after: { id: 1 }, source: { schema: 'sales', table }, op: 'c' } as DestinationRecord['value'],
  })

  it('names target tables by the format: the source table by default, the topic to keep sources apart', () => {
    const a = from('source_a1.sales.orders', 'orders')
    const b = from('source_b2.sales.orders', 'orders')
    expect(tableNameFor('${table}')(a)).toBe('orders')
    expect(tableNameFor('${table}')(b)).toBe('orders')
    expect(tableNameFor('${topic}')(a)).toBe('source_a1_sales_orders')
    expect(tableNameFor('${topic}')(b)).toBe('source_b2_sales_orders')
    expect(tableNameFor('${source}_${schema}_${table}')(a)).toBe('source_a1_sales_orders')
    expect(tableNameFor('raw_${table}')(a)).toBe('raw_orders')
    // A tombstone has no event: the names come from the topic.
    expect(tableNameFor('${schema}_${table}')(from('source_a1.sales.orders', null))).toBe('sales_orders')
  })

  it('plans one table per name: two sources of the same table stay apart with ${topic}', () => {
    const a = { ...from('source_a1.sales.orders', 'orders'), key: { id: 1 } }
    const b = { ...from('source_b2.sales.orders', 'orders'), key: { id: 1 } }
    expect(planRegular([a, b], 'upsert').map((s) => s.table)).toEqual(['orders'])
    expect(planRegular([a, b], 'upsert', tableNameFor('${topic}')).map((s) => s.table)).toEqual(['source_a1_sales_orders', 'source_b2_sales_orders'])
  })
})
