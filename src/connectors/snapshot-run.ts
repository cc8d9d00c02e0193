/**
 * A snapshot run as connectors see it: which tables, how far each got, and the run's status. The metadata store
 * persists it (so progress survives crashes and restarts); core creates and stops runs; the connector advances them.
 */

export type SnapshotType = 'initial' | 'blocking' | 'incremental'
export type SnapshotStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'
export type TableSnapshotStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'

export interface TableSnapshot {
  topic: string
  schema: string
  table: string
  status: TableSnapshotStatus
  rowsRead: number
  rowsEstimated: number | null
  /** Connector-owned resume position (e.g. the last key of the last completed chunk). */
  cursor: unknown | null
  startedAt: string | null
  endedAt: string | null
}

export interface SnapshotOptions {
  additionalConditions: Array<{ dataCollection: string; filter: string }>
  surrogateKey: string | null
}

export interface SnapshotRun {
  id: string
  sourceId: string
  type: SnapshotType
  status: SnapshotStatus
  /** Incremental snapshots only (Sluice extension): chunks stop until resumed. */
  paused: boolean
  reason: string | null
  tables: TableSnapshot[]
  options: SnapshotOptions
  createdAt: string
  startedAt: string | null
  endedAt: string | null
}

/** The connector's handle on its source's snapshot runs. */
export interface SnapshotChannel {
  /** Runs this source should work on: pending or running, oldest first. */
  active(): Promise<SnapshotRun[]>
  get(id: string): Promise<SnapshotRun | null>
  /** Persists progress and status (a cancelled or paused run is never overwritten back to running). */
  save(run: SnapshotRun): Promise<SnapshotRun>
  create(run: Omit<SnapshotRun, 'id' | 'createdAt'>): Promise<SnapshotRun>
  /** Resolves at the next change to this source's runs (requested, stopped, paused, resumed), or on abort. */
  changed(signal: AbortSignal): Promise<void>
}

export const TERMINAL: ReadonlySet<SnapshotStatus> = new Set(['completed', 'failed', 'cancelled'])
