/**
 * Snapshot use cases: execute (blocking or incremental), stop a blocking snapshot (the seed endpoint: restart the
 * connector, mark it cancelled, streaming resumes), stop/pause/resume an incremental snapshot, cancel whatever runs,
 * and history. Requests are validated completely before anything is written; a run is persisted as `pending` and
 * the source's task is woken to pick it up, so a request survives a restart of Sluice or of the source.
 */
import { type SnapshotRun, type SnapshotStatus, type SnapshotType, TERMINAL, type TableSnapshot } from '../../connectors/snapshot-run.js'
import type { TableDescription } from '../../connectors/source.js'
import type { SnapshotRepository, StoredSnapshot } from '../../store/snapshot-repository.js'
import { newId } from '../../util/ids.js'
import { ConflictError, type FieldProblem, InvalidInputError, NotFoundError } from '../errors.js'
import type { Source } from '../sources/source.js'
import type { SourceService } from '../sources/source-service.js'
import { checkFilter, loadSqlParser } from './filter-validation.js'
import type { SnapshotNotifier } from './snapshot-notifier.js'

export interface SnapshotRuntime {
  describe(source: Source): Promise<TableDescription[]>
  restart(source: Source): Promise<void>
  /** Waits (bounded) until the source reports Active again; returns its status. */
  waitForStatus(sourceId: string, timeoutMs: number): Promise<string>
}

export interface ExecuteSnapshotInput {
  sourceId: string
  snapshotType: 'incremental' | 'blocking'
  topicNames: string[] | null
  additionalConditions: Array<{ data_collection: string; filter: string }> | null
  surrogateKey: string | null
}

const ACTIVE = ['pending', 'running']

export function toSnapshotRun(s: StoredSnapshot): SnapshotRun {
  return {
    ...s,
    type: s.type as SnapshotType,
    status: s.status as SnapshotRun['status'],
    tables: s.tables as TableSnapshot[],
    options: s.options as unknown as SnapshotRun['options'],
  }
}

export function createSnapshotService(deps: {
  repo: SnapshotRepository
  sources: SourceService
  runtime: () => SnapshotRuntime
  notifier: SnapshotNotifier
  now?: () => number
}) {
  const now = deps.now ?? Date.now
  const iso = () => new Date(now()).toISOString()

  async function activeRun(sourceId: string): Promise<SnapshotRun | null> {
    const runs = await deps.repo.forSource(sourceId, ACTIVE)
    return runs.length ? toSnapshotRun(runs[0]) : null
  }

  async function describe(source: Source): Promise<TableDescription[]> {
    try {
      return await deps.runtime().describe(source)
    } catch (error) {
      throw new ConflictError(`Cannot read the source database to plan the snapshot: ${(error as Error).message}`)
    }
  }

  /** Topic names (or `schema.table`) → the source's tables; unknown names are 422s at their index. */
  function resolveTables(tables: TableDescription[], names: string[] | null, field: Array<string | number>): TableDescription[] {
    if (names === null) return tables
    const problems: FieldProblem[] = []
    const chosen: TableDescription[] = []
    names.forEach((name, i) => {
      const table = tables.find((t) => t.topic === name || `${t.schema}.${t.table}` === name)
      if (!table) problems.push({ loc: [...field, i], type: 'value_error', msg: `Value error, ${JSON.stringify(name)} is not a table captured by this source`, input: name })
      else if (!chosen.includes(table)) chosen.push(table)
    })
    if (problems.length) throw new InvalidInputError(problems)
    return chosen
  }

  function validateIncremental(input: ExecuteSnapshotInput, tables: TableDescription[]): void {
    const problems: FieldProblem[] = []
    if (input.surrogateKey !== null) {
      for (const t of tables) {
        if (!t.columns.includes(input.surrogateKey)) {
          problems.push({ loc: ['body', 'surrogate_key'], type: 'value_error', msg: `Value error, ${t.schema}.${t.table} has no column ${JSON.stringify(input.surrogateKey)}`, input: input.surrogateKey })
        }
      }
    } else {
      tables.forEach((t) => {
        if (t.primaryKey.length === 0) {
          const i = input.topicNames ? input.topicNames.findIndex((n) => n === t.topic || n === `${t.schema}.${t.table}`) : -1
          problems.push({ loc: i >= 0 ? ['body', 'topic_names', i] : ['body', 'surrogate_key'], type: 'value_error', msg: `Value error, ${t.schema}.${t.table} has no primary key: give surrogate_key or use a blocking snapshot`, input: t.topic })
        }
      })
    }
    ;(input.additionalConditions ?? []).forEach((condition, i) => {
      const table = tables.find((t) => t.topic === condition.data_collection || `${t.schema}.${t.table}` === condition.data_collection)
      if (!table) {
        problems.push({ loc: ['body', 'additional_conditions', i, 'data_collection'], type: 'value_error', msg: 'Value error, not one of the tables being snapshotted', input: condition.data_collection })
        return
      }
      const check = checkFilter(condition.filter, table.columns)
      if (!check.ok) problems.push({ loc: ['body', 'additional_conditions', i, 'filter'], type: 'value_error', msg: `Value error, ${check.msg}`, input: condition.filter })
    })
    if (problems.length) throw new InvalidInputError(problems)
  }

  function tableState(t: TableDescription): TableSnapshot {
    return { topic: t.topic, schema: t.schema, table: t.table, status: 'pending', rowsRead: 0, rowsEstimated: t.rowsEstimated, cursor: null, startedAt: null, endedAt: null }
  }

  /**
   * A stopped incremental snapshot can be resumed: executing one again with the same key and filters continues each
   * table from the last chunk the stopped run completed.
   */
  async function carryOverProgress(sourceId: string, options: object, states: TableSnapshot[]): Promise<void> {
    const previous = (await deps.repo.forSource(sourceId, ['cancelled'])).filter((r) => r.type === 'incremental').at(-1)
    if (!previous || JSON.stringify(previous.options) !== JSON.stringify(options)) return
    for (const state of states) {
      const before = previous.tables.find((t) => t.topic === state.topic)
      if (before?.cursor && before.status !== 'completed') {
        state.cursor = before.cursor
        state.rowsRead = before.rowsRead
      }
    }
  }

  /** Cancels the run's tables (all, or the named ones), and the run once none is left to read. */
  async function cancel(run: SnapshotRun, reason: string, topicNames: string[] | null): Promise<SnapshotRun> {
    const at = iso()
    const named = (t: { topic: string; schema: string; table: string }) => topicNames === null || topicNames.includes(t.topic) || topicNames.includes(`${t.schema}.${t.table}`)
    const changed = await deps.repo.change(run.id, (stored) => {
      // Ended meanwhile (the last chunk was read): there is nothing left to cancel.
      if (TERMINAL.has(stored.status as SnapshotStatus)) return stored
      const tables = stored.tables.map((t) => (named(t) && t.status !== 'completed' ? { ...t, status: 'cancelled', endedAt: at } : t))
      const remaining = tables.some((t) => t.status === 'pending' || t.status === 'running')
      return remaining ? { ...stored, tables } : { ...stored, tables, status: 'cancelled', reason, endedAt: at }
    })
    deps.notifier.notify(run.sourceId)
    return changed ? toSnapshotRun(changed) : run
  }

  return {
    async execute(input: ExecuteSnapshotInput): Promise<SnapshotRun> {
      const source = await deps.sources.get(input.sourceId)
      if (input.snapshotType === 'blocking') {
        const problems: FieldProblem[] = []
        if (input.additionalConditions?.length) problems.push({ loc: ['body', 'additional_conditions'], type: 'value_error', msg: 'Value error, additional_conditions filters are not supported for blocking snapshots', input: input.additionalConditions })
        if (input.surrogateKey !== null) problems.push({ loc: ['body', 'surrogate_key'], type: 'value_error', msg: 'Value error, surrogate_key is not supported for blocking snapshots', input: input.surrogateKey })
        if (problems.length) throw new InvalidInputError(problems)
      } else {
        await loadSqlParser()
      }
      const running = await activeRun(source.id)
      if (running) throw new ConflictError(`${/^[aeiou]/.test(running.type) ? 'An' : 'A'} ${running.type} snapshot (${running.id}) is already ${running.status} for this source`)
      const tables = resolveTables(await describe(source), input.topicNames, ['body', 'topic_names'])
      if (tables.length === 0) throw InvalidInputError.of(['body', 'topic_names'], 'Value error, the source captures no tables', input.topicNames)
      if (input.snapshotType === 'incremental') validateIncremental(input, tables)
      const options = {
        additionalConditions: (input.additionalConditions ?? []).map((c) => ({ dataCollection: c.data_collection, filter: c.filter })),
        surrogateKey: input.surrogateKey,
      }
      const states = tables.map(tableState)
      if (input.snapshotType === 'incremental') await carryOverProgress(source.id, options, states)
      const run: StoredSnapshot = {
        id: newId(now()),
        sourceId: source.id,
        type: input.snapshotType,
        status: 'pending',
        paused: false,
        reason: null,
        tables: states,
        options,
        createdAt: iso(),
        startedAt: null,
        endedAt: null,
      }
      await deps.repo.insert(run)
      deps.notifier.notify(source.id)
      return toSnapshotRun(run)
    },

    /** The seed: cancel the running blocking snapshot (or some of its tables) and restart the connector. */
    async stopBlocking(sourceId: string, topicNames: string[] | null): Promise<{ snapshot: SnapshotRun; connectorStatus: string }> {
      const source = await deps.sources.get(sourceId)
      const run = await activeRun(sourceId)
      if (!run || run.type !== 'blocking') throw new ConflictError('No blocking snapshot is running for this source')
      if (topicNames) {
        const problems: FieldProblem[] = []
        topicNames.forEach((name, i) => {
          if (!run.tables.some((t) => t.topic === name || `${t.schema}.${t.table}` === name)) {
            problems.push({ loc: ['body', 'topic_names', i], type: 'value_error', msg: `Value error, ${JSON.stringify(name)} is not part of the running blocking snapshot`, input: name })
          }
        })
        if (problems.length) throw new InvalidInputError(problems)
      }
      await cancel(run, 'stopped by user', topicNames)
      await deps.runtime().restart(source)
      const connectorStatus = await deps.runtime().waitForStatus(sourceId, 1500)
      const snapshot = toSnapshotRun((await deps.repo.get(run.id)) as StoredSnapshot)
      return { snapshot, connectorStatus }
    },

    async stopIncremental(sourceId: string, topicNames: string[] | null): Promise<SnapshotRun> {
      await deps.sources.get(sourceId)
      const run = await activeRun(sourceId)
      if (!run || run.type !== 'incremental') throw new ConflictError('No incremental snapshot is running for this source')
      return cancel(run, 'stopped by user', topicNames)
    },

    async setPaused(sourceId: string, paused: boolean): Promise<SnapshotRun> {
      await deps.sources.get(sourceId)
      const run = await activeRun(sourceId)
      if (!run || run.type !== 'incremental') throw new ConflictError('No incremental snapshot is running for this source')
      if (run.paused === paused) throw new ConflictError(`The incremental snapshot is already ${paused ? 'paused' : 'running'}`)
      const changed = await deps.repo.change(run.id, (stored) => ({ ...stored, paused }))
      deps.notifier.notify(sourceId)
      return changed ? toSnapshotRun(changed) : { ...run, paused }
    },

    /** Streamkap's cancel_snapshot: whatever type runs; 404 when nothing does. */
    async cancel(sourceId: string): Promise<SnapshotRun> {
      await deps.sources.get(sourceId)
      const run = await activeRun(sourceId)
      if (!run) throw new NotFoundError('running snapshot for source', sourceId)
      if (run.type === 'blocking' || run.type === 'initial') return (await this.stopBlockingAny(sourceId)).snapshot
      return cancel(run, 'cancelled by user', null)
    },

    /** Stops a blocking or initial snapshot by restarting the connector. */
    async stopBlockingAny(sourceId: string): Promise<{ snapshot: SnapshotRun; connectorStatus: string }> {
      const source = await deps.sources.get(sourceId)
      const run = await activeRun(sourceId)
      if (!run) throw new ConflictError('No snapshot is running for this source')
      await cancel(run, 'stopped by user', null)
      await deps.runtime().restart(source)
      return { snapshot: toSnapshotRun((await deps.repo.get(run.id)) as StoredSnapshot), connectorStatus: await deps.runtime().waitForStatus(sourceId, 1500) }
    },

    async history(sourceId: string): Promise<SnapshotRun[]> {
      await deps.sources.get(sourceId)
      return (await deps.repo.forSource(sourceId)).map(toSnapshotRun).reverse()
    },

    async active(sourceId: string): Promise<SnapshotRun | null> {
      return activeRun(sourceId)
    },

    async sourcesWithStatus(statuses: string[]): Promise<string[]> {
      const latest = await deps.repo.latestStatusBySource()
      return [...latest.entries()].filter(([, status]) => statuses.includes(status)).map(([id]) => id)
    },
  }
}

export type SnapshotService = ReturnType<typeof createSnapshotService>
