/**
 * Preflight checks run before a source starts, so that a misconfigured database fails with one clear, actionable
 * `ConnectorError` (retriable false: retrying cannot fix it) instead of an obscure replication error later. Also
 * resolves Debezium-style include lists to the concrete tables present. Read-only; safe to run at any time.
 */
import { ConnectorError } from '../../connector-error.js'
import {
  compareTables,
  formatTable,
  queryRows,
  quoteIdent,
  quoteTable,
  type SqlClient,
  type TableName,
} from './sql.js'
import { createTableFilter, type IncludeLists } from './table-filter.js'

export interface SourceCheck {
  tables: TableName[]
  slotName: string
  publicationName: string
}

const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`

/** Throws the first failed check as a `ConnectorError`; resolves when the source can run. */
export async function checkSource(client: SqlClient, check: SourceCheck): Promise<void> {
  await checkWalLevel(client)
  const role = await currentRole(client)
  if (!role.superuser && !role.replication) {
    fail(
      'privilege',
      `user "${role.name}" may not use replication: it has neither REPLICATION nor superuser. ` +
        `Run ALTER ROLE ${quoteIdent(role.name)} WITH REPLICATION as a superuser ` +
        `(on Amazon RDS/Aurora: GRANT rds_replication TO ${quoteIdent(role.name)}).`,
    )
  }
  const tables = await tableStates(client, check.tables)
  const missing = tables.filter((t) => !t.exists)
  if (missing.length > 0) {
    fail(
      'missing_table',
      `table${missing.length > 1 ? 's' : ''} ${missing.map(formatTable).join(', ')} ` +
        `do${missing.length > 1 ? '' : 'es'} not exist in database "${role.database}" (or are not visible to user ` +
        `"${role.name}"); fix the table include list or create the table.`,
    )
  }
  const unreadable = tables.filter((t) => !t.selectable)
  if (unreadable.length > 0) {
    fail(
      'privilege',
      `user "${role.name}" lacks SELECT on ${unreadable.map(formatTable).join(', ')}, which snapshots need. ` +
        `Run GRANT SELECT ON ${unreadable.map(quoteTable).join(', ')} TO ${quoteIdent(role.name)}.`,
    )
  }
  await checkPublication(client, check, role, tables)
  await checkSlots(client, check.slotName)
}

/** The tables present that the include lists select, ordered by schema then table. */
export async function listTables(client: SqlClient, lists: IncludeLists): Promise<TableName[]> {
  const filter = createTableFilter(lists)
  const rows = await queryRows<{ schema: string; table: string }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${SYSTEM_SCHEMAS}`,
  )
  return rows.filter(filter).sort(compareTables)
}

function fail(kind: string, message: string): never {
  throw new ConnectorError(kind, message, { retriable: false })
}

async function checkWalLevel(client: SqlClient): Promise<void> {
  const [row] = await queryRows<{ wal_level: string }>(client, 'SHOW wal_level')
  if (row.wal_level !== 'logical') {
    fail(
      'wal_level',
      `wal_level is '${row.wal_level}' but change data capture needs 'logical'. Run ALTER SYSTEM SET ` +
        `wal_level = logical (or set it in postgresql.conf; on Amazon RDS set rds.logical_replication = 1 in the ` +
        `parameter group) and restart PostgreSQL.`,
    )
  }
}

interface RoleState {
  name: string
  database: string
  superuser: boolean
  replication: boolean
  canCreateInDatabase: boolean
}

async function currentRole(client: SqlClient): Promise<RoleState> {
  const [row] = await queryRows<RoleState>(
    client,
    `SELECT r.rolname AS name, current_database() AS database, r.rolsuper AS superuser,
            r.rolreplication OR EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication'
                                         AND pg_has_role(r.oid, g.oid, 'member')) AS replication,
            has_database_privilege(current_database(), 'CREATE') AS "canCreateInDatabase"
       FROM pg_roles r WHERE r.rolname = current_user`,
  )
  return row
}

interface TableState extends TableName {
  exists: boolean
  selectable: boolean
  owned: boolean
}

async function tableStates(client: SqlClient, tables: TableName[]): Promise<TableState[]> {
  return queryRows<TableState>(
    client,
    `SELECT w.schema, w.table, c.oid IS NOT NULL AS exists,
            COALESCE(has_table_privilege(c.oid, 'SELECT'), false) AS selectable,
            COALESCE(pg_has_role(c.relowner, 'USAGE'), false) AS owned
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema, "table", ord)
       LEFT JOIN pg_namespace n ON n.nspname = w.schema
       LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.table AND c.relkind IN ('r', 'p')
      ORDER BY w.ord`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  )
}

async function checkPublication(client: SqlClient, check: SourceCheck, role: RoleState, tables: TableState[]) {
  const [row] = await queryRows<{ exists: boolean }>(
    client,
    'SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS exists',
    [check.publicationName],
  )
  if (row.exists || role.superuser) return
  const notOwned = tables.filter((t) => !t.owned)
  if (role.canCreateInDatabase && notOwned.length === 0) return
  const why = role.canCreateInDatabase
    ? `it does not own ${notOwned.map(formatTable).join(', ')}`
    : `it lacks CREATE on database "${role.database}"`
  fail(
    'publication',
    `publication "${check.publicationName}" does not exist and user "${role.name}" cannot create it: ${why}. ` +
      `Create it as the tables' owner: CREATE PUBLICATION ${quoteIdent(check.publicationName)} FOR TABLE ` +
      `${check.tables.map(quoteTable).join(', ')}.`,
  )
}

interface SlotCapacity {
  exists: boolean
  plugin: string | null
  used: number
  max: number
  idle: string[]
}

async function checkSlots(client: SqlClient, slotName: string): Promise<void> {
  const [row] = await queryRows<SlotCapacity>(
    client,
    `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1) AS exists,
            (SELECT plugin FROM pg_replication_slots WHERE slot_name = $1) AS plugin,
            (SELECT count(*)::int FROM pg_replication_slots) AS used,
            current_setting('max_replication_slots')::int AS max,
            ARRAY(SELECT slot_name::text FROM pg_replication_slots WHERE NOT active ORDER BY 1) AS idle`,
    [slotName],
  )
  if (row.exists) {
    if (row.plugin !== 'pgoutput') {
      fail(
        'slot',
        `replication slot "${slotName}" exists but uses plugin ${row.plugin ?? '(physical)'}, not pgoutput; ` +
          `drop it or choose another slot name.`,
      )
    }
    return
  }
  if (row.used >= row.max) {
    const idle = row.idle.length > 0 ? ` Inactive slots: ${row.idle.join(', ')}.` : ''
    fail(
      'slots_exhausted',
      `all ${row.max} replication slots are in use (max_replication_slots = ${row.max}), so slot "${slotName}" ` +
        `cannot be created. Drop an unused slot with SELECT pg_drop_replication_slot('<name>'), or raise ` +
        `max_replication_slots and restart PostgreSQL.${idle}`,
    )
  }
}
