import { describe, expect, it } from 'vitest'
import { ConnectorError } from '../../connector-error.js'
import { createTableFilter, parseIncludeList } from './table-filter.js'

const t = (schema: string, table: string) => ({ schema, table })

describe('include lists', () => {
  it('splits comma lists, honouring escaped commas', () => {
    expect(parseIncludeList(' public.a , inv\\.b{1\\,2} ,,')).toEqual(['public.a', 'inv\\.b{1,2}'])
    expect(parseIncludeList('')).toEqual([])
  })

  it('includes everything when both lists are empty', () => {
    expect(createTableFilter({ schemaInclude: [], tableInclude: [] })(t('x', 'y'))).toBe(true)
  })

  it('anchors regexes on the whole schema and the whole schema.table', () => {
    const filter = createTableFilter({
      schemaInclude: ['public|inv.*'],
      tableInclude: ['public\\.orders', 'inv.*\\.item_\\d+'],
    })
    expect(filter(t('public', 'orders'))).toBe(true)
    expect(filter(t('public', 'orders_old'))).toBe(false)
    expect(filter(t('xpublic', 'orders'))).toBe(false)
    expect(filter(t('inventory', 'item_12'))).toBe(true)
    expect(filter(t('inventory', 'item_x'))).toBe(false)
    expect(filter(t('other', 'orders'))).toBe(false)
  })

  it('matches case-insensitively as Debezium does', () => {
    const filter = createTableFilter({ schemaInclude: [], tableInclude: ['public\\.orders'] })
    expect(filter(t('public', 'Orders'))).toBe(true)
  })

  it('reports an invalid regex as a non-retriable config error', () => {
    const make = () => createTableFilter({ schemaInclude: ['('], tableInclude: [] })
    expect(make).toThrow(ConnectorError)
    expect(make).toThrow(/schema.include.list/)
  })
})
