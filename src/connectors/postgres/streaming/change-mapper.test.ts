import { describe, expect, it } from 'vitest'
import type { TableSchema } from '../../../events/change-event.js'
import type { TupleData } from '../pgoutput/messages.js'
import { relaxRequiredColumns, withOldToastValues } from './change-mapper.js'

describe('withOldToastValues', () => {
  it('fills unchanged TOASTed columns of the new tuple from the full old tuple', () => {
    const text = (value: string) => ({ kind: 'text', value }) as const
    const oldTuple: TupleData = [text('1'), text('draft'), text('long body')]
    const newTuple: TupleData = [text('1'), text('final'), { kind: 'unchanged-toast' }]
    expect(withOldToastValues(newTuple, oldTuple)).toEqual([text('1'), text('final'), text('long body')])
  })

  it('keeps the marker when the old tuple has no value for the column, and keeps other values as sent', () => {
    const oldTuple: TupleData = [{ kind: 'text', value: '1' }, { kind: 'unchanged-toast' }, { kind: 'null' }]
    const newTuple: TupleData = [{ kind: 'text', value: '2' }, { kind: 'unchanged-toast' }, { kind: 'unchanged-toast' }]
    const unchanged = { kind: 'unchanged-toast' }
    expect(withOldToastValues(newTuple, oldTuple)).toEqual([{ kind: 'text', value: '2' }, unchanged, unchanged])
  })

  it('returns the same tuple when nothing is marked unchanged', () => {
    const newTuple: TupleData = [{ kind: 'text', value: '1' }]
    expect(withOldToastValues(newTuple, [{ kind: 'text', value: '0' }])).toBe(newTuple)
  })
})

describe('relaxRequiredColumns', () => {
  const schema: TableSchema = {
    schema: 'public',
    table: 't',
    keyColumns: ['id'],
    columns: [
      { field: 'id', type: 'int32', optional: false },
      { field: 'note', type: 'string', optional: false },
      { field: 'qty', type: 'int32', optional: true },
    ],
  }

  it('makes a required column optional when a row has null in it', () => {
    const relaxed = relaxRequiredColumns(schema, { id: 1, note: null, qty: null })
    expect(relaxed?.columns).toEqual([
      { field: 'id', type: 'int32', optional: false },
      { field: 'note', type: 'string', optional: true },
      { field: 'qty', type: 'int32', optional: true },
    ])
    expect(relaxed?.keyColumns).toEqual(['id'])
  })

  it('returns null when the row fits the schema', () => {
    expect(relaxRequiredColumns(schema, { id: 1, note: 'x', qty: null })).toBeNull()
  })
})
