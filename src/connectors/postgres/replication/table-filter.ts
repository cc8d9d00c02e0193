/**
 * Debezium-style include lists: `schema.include.list` regexes match the schema name, `table.include.list` regexes
 * match `schema.table`; each regex must match the whole name (Java's `matches()`), case-insensitively as Debezium
 * does, and an empty list includes everything. Pure.
 */
import { ConnectorError } from '../../connector-error.js'
import type { TableName } from './sql.js'

export interface IncludeLists {
  schemaInclude: string[]
  tableInclude: string[]
}

/** Splits a comma list of regexes; `\,` is a literal comma inside a regex. */
export function parseIncludeList(text: string): string[] {
  return text
    .split(/(?<!\\),/)
    .map((part) => part.replaceAll('\\,', ',').trim())
    .filter((part) => part.length > 0)
}

export function createTableFilter(lists: IncludeLists): (table: TableName) => boolean {
  const schemas = compile(lists.schemaInclude, 'schema.include.list')
  const tables = compile(lists.tableInclude, 'table.include.list')
  return (t) =>
    (schemas.length === 0 || schemas.some((re) => re.test(t.schema))) &&
    (tables.length === 0 || tables.some((re) => re.test(`${t.schema}.${t.table}`)))
}

function compile(patterns: string[], setting: string): RegExp[] {
  return patterns.map((pattern) => {
    try {
      return new RegExp(`^(?:${pattern})$`, 'i')
    } catch (error) {
      throw new ConnectorError('config', `${setting}: ${JSON.stringify(pattern)} is not a valid regular expression`, {
        retriable: false,
        cause: error,
      })
    }
  })
}
