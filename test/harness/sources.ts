/**
 * Creating PostgreSQL sources and waiting on their status through the API, for the streaming suites.
 */
import type { ApiClient } from './api-client.js'
import type { TestPostgres } from './postgres.js'
import { waitFor } from './wait-for.js'

export interface SourceView {
  id: string
  connector_status: string
  status_reason: string | null
  desired_state: string
  task_statuses: Record<string, { state: string; trace?: string }>
}

/** Connection keys of a source reading `pg` (superuser), streaming only (`snapshot.mode: no_data`). */
export function pgSourceConfig(pg: TestPostgres, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'database.hostname': '127.0.0.1',
    'database.port': pg.port,
    'database.user': pg.user,
    'database.password': pg.password,
    'database.dbname': 'postgres',
    'schema.include.list': 'public',
    'snapshot.mode': 'no_data',
    ...overrides,
  }
}

let counter = 0

/** Creates a source and returns its id (does not wait for it to start). */
export async function createSource(
  api: ApiClient,
  config: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const name = `src-${process.pid}-${++counter}`
  const res = await api.request('POST', '/sources', { name, connector: 'postgresql', config, ...extra })
  if (res.status !== 200) throw new Error(`create source: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id as string
}

export async function getSource(api: ApiClient, id: string): Promise<SourceView> {
  const res = await api.request('GET', `/sources/${id}`)
  if (res.status !== 200) throw new Error(`get source ${id}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.result[0] as SourceView
}

export function waitForStatus(api: ApiClient, id: string, status: string, timeoutMs = 60_000): Promise<SourceView> {
  return waitFor(() => getSource(api, id), (s) => s.connector_status === status, {
    timeoutMs,
    intervalMs: 100,
    message: `source ${id} ${status}`,
  })
}

export async function action(api: ApiClient, id: string, name: 'pause' | 'resume' | 'restart' | 'stop'): Promise<void> {
  const res = await api.request('POST', `/sources/${id}/actions/${name}`)
  if (res.status !== 200) throw new Error(`${name} ${id}: ${res.status} ${JSON.stringify(res.body)}`)
}

export function topicOf(id: string, table: string, schema = 'public'): string {
  return `source_${id}.${schema}.${table}`
}

/** The replication slot and publication names Sluice derives from a source id. */
export function slotOf(id: string): { slot: string; publication: string } {
  return { slot: `sluice_${id}`, publication: `sluice_pub_${id}` }
}

export interface SlotView {
  active: boolean
  active_pid: number | null
  confirmed_flush_lsn: string
}

export async function slotState(pg: TestPostgres, slot: string): Promise<SlotView | undefined> {
  const sql = 'SELECT active, active_pid, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1'
  return (await pg.query(sql, [slot])).rows[0] as SlotView | undefined
}

/** `X/Y` → a number, for comparing LSNs. */
export function lsnOf(text: string): bigint {
  const [hi, lo] = text.split('/')
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`)
}

/** The slot's confirmed_flush_lsn (0 when there is no slot). */
export async function confirmedFlush(pg: TestPostgres, slot: string): Promise<bigint> {
  return lsnOf((await slotState(pg, slot))?.confirmed_flush_lsn ?? '0/0')
}

/** The server's current WAL insert position. */
export async function currentWalLsn(pg: TestPostgres): Promise<bigint> {
  return lsnOf((await pg.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn)
}
