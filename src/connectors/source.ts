/**
 * The source-connector contract (Kysely's Dialect idea): the runtime knows only this. A connector kind implements
 * `run` (snapshot phase, then streaming phase, until the signal aborts) and `cleanup` (drop what it created in the
 * source database). Position state goes through `OffsetStore`; progress through `SourceMetrics`.
 */
import type { TopicLog } from '../log/topic-log.js'
import type { SnapshotChannel } from './snapshot-run.js'

/** A captured table as the connector sees it now. */
export interface TableDescription {
  schema: string
  table: string
  topic: string
  columns: string[]
  primaryKey: string[]
  /** The planner's row estimate (pg_class.reltuples), null when unknown. */
  rowsEstimated: number | null
}

/** A source's durable position. `lsn` is a decimal string (JSON has no 64-bit integers). */
export interface SourceOffset {
  lsn: string | null
  /** Connector-owned sub-state, e.g. an unfinished snapshot's progress. */
  state?: Record<string, unknown>
}

export interface OffsetStore {
  load(): Promise<SourceOffset | null>
  save(offset: SourceOffset): Promise<void>
}

/** Counters and gauges the connector updates in place; the API reads them for `/sources/{id}/metrics`. */
export interface SourceMetrics {
  streamingConnected: boolean
  createEvents: number
  updateEvents: number
  deleteEvents: number
  truncateEvents: number
  snapshotEvents: number
  recordsSent: number
  bytesSent: number
  lastEvent: { op: string; topic: string; lsn: string | null; ts_ms: number } | null
  lastEventAtMs: number | null
  /** Processing time minus commit time of the last change, in ms. */
  millisBehindSource: number | null
  retainedWalBytes: number | null
  lastAcknowledgedLsn: string | null
  /** How long streaming has been paused by a blocking snapshot (0 when streaming). */
  streamingPausedMs: number
}

export function newSourceMetrics(): SourceMetrics {
  return {
    streamingConnected: false,
    createEvents: 0,
    updateEvents: 0,
    deleteEvents: 0,
    truncateEvents: 0,
    snapshotEvents: 0,
    recordsSent: 0,
    bytesSent: 0,
    lastEvent: null,
    lastEventAtMs: null,
    millisBehindSource: null,
    retainedWalBytes: null,
    lastAcknowledgedLsn: null,
    streamingPausedMs: 0,
  }
}

export interface TaskLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

export interface SourceTaskContext {
  sourceId: string
  config: Readonly<Record<string, unknown>>
  log: TopicLog
  offsets: OffsetStore
  metrics: SourceMetrics
  logger: TaskLogger
  signal: AbortSignal
  snapshots: SnapshotChannel
  /** Called once the task is connected and streaming (the runtime then reports `Active`). */
  onRunning(): void
  /** Reports (or clears, with null) a health warning such as streaming paused too long. */
  onWarning(warning: string | null): void
}

export interface SourceConnector {
  code: string
  /** Runs until `signal` aborts (resolves) or a failure (rejects, preferably with a ConnectorError). */
  run(context: SourceTaskContext): Promise<void>
  /** Removes what the connector created in the source database; says what it could not remove. */
  cleanup(context: { sourceId: string; config: Readonly<Record<string, unknown>>; logger: TaskLogger }): Promise<{ warnings: string[] }>
  /** The topic-name prefix of a source's topics. */
  topicPrefix(sourceId: string, config: Readonly<Record<string, unknown>>): string
  /** The tables the source captures, read from the database now (for validating snapshot requests). */
  describe(context: { sourceId: string; config: Readonly<Record<string, unknown>> }): Promise<TableDescription[]>
}
