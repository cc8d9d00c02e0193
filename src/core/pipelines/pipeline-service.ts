/**
 * Pipeline use cases. A pipeline references an existing source and destination (a missing one is a 422 on the
 * field that names it, as Pydantic would report a bad reference); chosen topics must belong to the source. The
 * runtime is told after the store has the new state; deleting a pipeline stops its delivery and removes its
 * consumer group, while the source keeps streaming.
 */
import { isUniqueViolation } from '../../store/db.js'
import type { PipelineListQuery, PipelineRepository, PipelineRow } from '../../store/pipeline-repository.js'
import { newId } from '../../util/ids.js'
import type { DeliveryRuntime, Destination } from '../destinations/destination.js'
import { ConflictError, type FieldProblem, InvalidInputError, NotFoundError } from '../errors.js'
import type { Source } from '../sources/source.js'
import type { Pipeline } from './pipeline.js'

export interface PipelineInput {
  name: string
  sourceId: string
  destinationId: string
  topics?: string[] | null
  snapshotNewTables?: boolean
  transforms?: unknown[]
  tags?: string[] | null
  createdFrom?: string
}

export interface PipelineListFilter extends Omit<PipelineListQuery, 'offset' | 'limit'> {
  page: number
  pageSize: number
}

export interface PipelineServiceDeps {
  repo: PipelineRepository
  findSource(id: string): Promise<Source | undefined>
  findDestination(id: string): Promise<Destination | undefined>
  /** The prefix every topic of the source starts with (`source_<id>`), when known. */
  topicPrefix(source: Source): string | undefined
  runtime: () => DeliveryRuntime
  /** Starts an incremental snapshot of these topics of the source (for `snapshot_new_tables`). */
  snapshotTopics?(sourceId: string, topics: string[]): Promise<void>
  now?: () => number
}

function toPipeline(row: PipelineRow): Pipeline {
  return {
    id: row.id,
    name: row.name,
    sourceId: row.source_id,
    destinationId: row.destination_id,
    topics: row.topics === null ? null : (JSON.parse(row.topics) as string[]),
    snapshotNewTables: Boolean(row.snapshot_new_tables),
    transforms: JSON.parse(row.transforms) as unknown[],
    tags: JSON.parse(row.tags) as string[],
    createdFrom: row.created_from,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function createPipelineService(deps: PipelineServiceDeps) {
  const now = deps.now ?? Date.now
  const duplicate = (name: string) => new ConflictError(`A pipeline named ${JSON.stringify(name)} already exists`)

  async function getRow(id: string): Promise<PipelineRow> {
    const row = await deps.repo.get(id)
    if (!row) throw new NotFoundError('pipeline', id)
    return row
  }

  /** Checks the references and topics; every problem is reported at once. */
  async function check(input: PipelineInput): Promise<void> {
    const problems: FieldProblem[] = []
    const source = await deps.findSource(input.sourceId)
    if (!source) problems.push({ loc: ['body', 'source', 'id'], type: 'value_error', msg: 'Value error, source not found', input: input.sourceId })
    const destination = await deps.findDestination(input.destinationId)
    if (!destination) problems.push({ loc: ['body', 'destination', 'id'], type: 'value_error', msg: 'Value error, destination not found', input: input.destinationId })
    const prefix = source ? deps.topicPrefix(source) : undefined
    for (const [i, topic] of (input.topics ?? []).entries()) {
      if (prefix && !topic.startsWith(`${prefix}.`)) {
        problems.push({ loc: ['body', 'source', 'topics', i], type: 'value_error', msg: `Value error, not a topic of source ${input.sourceId} (expected ${prefix}.<schema>.<table>)`, input: topic })
      }
    }
    if (problems.length) throw new InvalidInputError(problems)
  }

  async function assertNameFree(name: string, exceptId?: string): Promise<void> {
    const other = await deps.repo.getByName(name)
    if (other && other.id !== exceptId) throw duplicate(name)
  }

  return {
    async create(input: PipelineInput): Promise<Pipeline> {
      await check(input)
      await assertNameFree(input.name)
      const at = new Date(now()).toISOString()
      const row: PipelineRow = {
        id: newId(now()),
        name: input.name,
        source_id: input.sourceId,
        destination_id: input.destinationId,
        topics: input.topics?.length ? JSON.stringify([...new Set(input.topics)]) : null,
        snapshot_new_tables: input.snapshotNewTables ? 1 : 0,
        transforms: JSON.stringify(input.transforms ?? []),
        tags: JSON.stringify(input.tags ?? []),
        created_from: input.createdFrom ?? 'api',
        created_at: at,
        updated_at: at,
      }
      try {
        await deps.repo.insert(row)
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicate(input.name)
        throw err
      }
      await deps.runtime().reconcile(row.destination_id)
      return toPipeline(row)
    },

    async get(id: string): Promise<Pipeline> {
      return toPipeline(await getRow(id))
    },

    async all(): Promise<Pipeline[]> {
      return (await deps.repo.all()).map(toPipeline)
    },

    async list(filter: PipelineListFilter): Promise<{ pipelines: Pipeline[]; total: number }> {
      const { page, pageSize, ...query } = filter
      const { rows, total } = await deps.repo.list({ ...query, offset: (page - 1) * pageSize, limit: pageSize })
      return { pipelines: rows.map(toPipeline), total }
    },

    async update(id: string, input: PipelineInput): Promise<Pipeline> {
      const current = await getRow(id)
      await check(input)
      await assertNameFree(input.name, id)
      // Topics the update adds are snapshotted first: if a snapshot cannot start (409), nothing has changed.
      const before = current.topics === null ? null : (JSON.parse(current.topics) as string[])
      const added = before && input.topics?.length && current.source_id === input.sourceId ? input.topics.filter((t) => !before.includes(t)) : []
      if (input.snapshotNewTables && added.length > 0) await deps.snapshotTopics?.(input.sourceId, [...new Set(added)])
      const changes: Partial<PipelineRow> = {
        name: input.name,
        source_id: input.sourceId,
        destination_id: input.destinationId,
        topics: input.topics?.length ? JSON.stringify([...new Set(input.topics)]) : null,
        snapshot_new_tables: input.snapshotNewTables ? 1 : 0,
        transforms: JSON.stringify(input.transforms ?? []),
        updated_at: new Date(now()).toISOString(),
      }
      if (input.tags !== undefined && input.tags !== null) changes.tags = JSON.stringify(input.tags)
      try {
        await deps.repo.update(id, changes)
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicate(input.name)
        throw err
      }
      if (current.destination_id !== input.destinationId) await deps.runtime().reconcile(current.destination_id)
      await deps.runtime().reconcile(input.destinationId)
      return this.get(id)
    },

    async delete(id: string): Promise<Pipeline> {
      const pipeline = toPipeline(await getRow(id))
      await deps.runtime().removePipeline(id)
      await deps.repo.delete(id)
      await deps.runtime().reconcile(pipeline.destinationId)
      return pipeline
    },

    async metrics(id: string) {
      await getRow(id)
      return deps.runtime().pipelineMetrics(id)
    },
  }
}

export type PipelineService = ReturnType<typeof createPipelineService>
