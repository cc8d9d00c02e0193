/**
 * The metadata store's tables, as Kysely sees them. Column types are chosen to mean the same thing on SQLite and
 * PostgreSQL: JSON is stored as text, times as ISO-8601 text or epoch milliseconds (bigint on PostgreSQL, which `pg`
 * returns as a string — repositories convert with `Number`).
 */
import type { ColumnType } from 'kysely'

type EpochMs = ColumnType<number | string, number, number>

export interface ClientCredentialTable {
  client_id: string
  secret_hash: string
  description: string | null
  /** JSON array of role ids. */
  role_ids: string
  service_id: string
  created_from: string
  created_at: string
}

export interface AuthTokenTable {
  /** SHA-256 of the token: the token itself is never stored. */
  token_hash: string
  kind: 'access' | 'refresh'
  client_id: string
  expires_at: EpochMs
  created_at: EpochMs
}

export interface SourceTable {
  id: string
  name: string
  connector: string
  /** JSON object; secret values are sealed by the secret box. */
  config: string
  desired_state: string
  connector_status: string
  status_reason: string | null
  /** JSON object, Kafka Connect style: `{"0": {"state": "RUNNING"}}`. */
  task_statuses: string
  /** JSON array of tag ids. */
  tags: string
  created_from: string
  kc_cluster_id: string | null
  created_at: string
  updated_at: string
}

export interface SourceOffsetTable {
  source_id: string
  /** JSON: `{lsn, state}` (see connectors/source.ts). */
  offset: string
  updated_at: string
}

export interface SnapshotTable {
  id: string
  source_id: string
  type: string
  status: string
  paused: number
  reason: string | null
  /** JSON array of per-table progress. */
  tables: string
  /** JSON: additional conditions, surrogate key. */
  options: string
  created_at: string
  started_at: string | null
  ended_at: string | null
  updated_at: string
}

/** Same columns as a source: a destination has the same lifecycle and config handling. */
export type DestinationTable = SourceTable

export interface PipelineTable {
  id: string
  name: string
  source_id: string
  destination_id: string
  /** JSON array of topic names; null = every topic of the source, including ones it adds later. */
  topics: string | null
  snapshot_new_tables: number
  /** JSON array (stored for compatibility; Sluice runs no transforms). */
  transforms: string
  /** JSON array of tag ids. */
  tags: string
  created_from: string
  created_at: string
  updated_at: string
}

export interface Database {
  client_credentials: ClientCredentialTable
  auth_tokens: AuthTokenTable
  sources: SourceTable
  source_offsets: SourceOffsetTable
  snapshots: SnapshotTable
  destinations: DestinationTable
  pipelines: PipelineTable
}
