/**
 * `additional_conditions[].filter` is SQL that Sluice will put in a WHERE clause, so it is parsed with PostgreSQL's
 * own parser (libpg-query) and accepted only when it is one boolean expression built from the table's columns,
 * constants, operators and a small list of side-effect-free functions. Anything else — a second statement, a
 * subquery, an unknown column, any other function — is refused before anything is executed.
 */
import { loadModule, parseSync } from 'libpg-query'

let loaded: Promise<void> | undefined

export async function loadSqlParser(): Promise<void> {
  loaded ??= loadModule()
  await loaded
}

const SAFE_FUNCTIONS = new Set([
  'lower', 'upper', 'trim', 'btrim', 'ltrim', 'rtrim', 'length', 'char_length', 'substring', 'substr', 'left', 'right',
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'mod', 'coalesce', 'nullif', 'greatest', 'least',
  'date_trunc', 'date_part', 'extract', 'now', 'current_date', 'current_timestamp', 'make_date', 'to_timestamp',
])

/** Node kinds a filter may contain; everything else (SubLink, ParamRef, RangeVar, …) is refused. */
const ALLOWED_NODES = new Set([
  'A_Expr', 'BoolExpr', 'ColumnRef', 'A_Const', 'TypeCast', 'TypeName', 'NullTest', 'BooleanTest', 'FuncCall',
  'List', 'A_ArrayExpr', 'CoalesceExpr', 'MinMaxExpr', 'CaseExpr', 'CaseWhen', 'SQLValueFunction', 'String',
  'Integer', 'Float', 'Boolean', 'BitString', 'NullIfExpr',
])

export type FilterCheck = { ok: true } | { ok: false; msg: string }

export function checkFilter(filter: string, columns: readonly string[] | null): FilterCheck {
  let parsed: { stmts?: Array<{ stmt: Record<string, any> }> }
  try {
    parsed = parseSync(`SELECT 1 WHERE ${filter}`)
  } catch (error) {
    return { ok: false, msg: `not a valid SQL expression: ${(error as Error).message}` }
  }
  const stmts = parsed.stmts ?? []
  if (stmts.length !== 1) return { ok: false, msg: 'must be a single expression, not several statements' }
  const select = stmts[0].stmt.SelectStmt
  const extra = select && Object.keys(select).filter((k) => !['targetList', 'whereClause', 'limitOption', 'op'].includes(k))
  if (!select?.whereClause || extra.length > 0) return { ok: false, msg: 'must be a single boolean expression' }
  const known = columns ? new Set(columns.map((c) => c.toLowerCase())) : null
  return walk(select.whereClause, known)
}

function walk(node: unknown, columns: Set<string> | null): FilterCheck {
  if (Array.isArray(node)) {
    for (const item of node) {
      const result = walk(item, columns)
      if (!result.ok) return result
    }
    return { ok: true }
  }
  if (node === null || typeof node !== 'object') return { ok: true }
  for (const [kind, value] of Object.entries(node as Record<string, unknown>)) {
    if (/^[A-Z]/.test(kind)) {
      if (!ALLOWED_NODES.has(kind)) return { ok: false, msg: `${describeNode(kind)} is not allowed in a filter` }
      if (kind === 'FuncCall') {
        const name = functionName(value)
        if (!SAFE_FUNCTIONS.has(name)) return { ok: false, msg: `function ${name}() is not allowed in a filter` }
      }
      if (kind === 'ColumnRef') {
        const column = columnName(value)
        if (column === null) return { ok: false, msg: 'columns must be named without a table or schema qualifier' }
        if (columns && !columns.has(column.toLowerCase())) return { ok: false, msg: `unknown column ${JSON.stringify(column)}` }
        continue
      }
    }
    const result = walk(value, columns)
    if (!result.ok) return result
  }
  return { ok: true }
}

function functionName(call: unknown): string {
  const parts = ((call as { funcname?: Array<{ String?: { sval: string } }> }).funcname ?? []).map((p) => p.String?.sval ?? '')
  return parts.filter((p) => p !== 'pg_catalog').join('.').toLowerCase()
}

function columnName(ref: unknown): string | null {
  const fields = (ref as { fields?: Array<{ String?: { sval: string }; A_Star?: unknown }> }).fields ?? []
  const last = fields.at(-1)
  // Unqualified names only: the filter runs against one table without an alias.
  if (!last?.String || fields.length !== 1) return null
  return last.String.sval
}

function describeNode(kind: string): string {
  if (kind === 'SubLink') return 'a subquery'
  if (kind === 'ParamRef') return 'a parameter'
  return kind
}
