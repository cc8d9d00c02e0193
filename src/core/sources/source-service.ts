/**
 * Source use cases: create, list, read, update, delete. Validation happens before anything is written (a rejected
 * request changes nothing); secrets are sealed before they reach the store; the runtime is told after the store has
 * the new state, and owns `connector_status` from then on. A source a pipeline reads cannot be deleted (409), as
 * for destinations: deleting the pipeline first is an explicit decision to stop that delivery.
 */
import type { SourceListQuery, SourceRepository, SourceRow } from '../../store/source-repository.js'
import { newId } from '../../util/ids.js'
import type { SecretBox } from '../../util/secret-box.js'
import { assertNameFree, entityFromRow, newEntityRow, requireRow, requireSpec, sealConfig, secretKeysOf, withUniqueName } from '../connector-entity.js'
import { ConflictError, InvalidInputError } from '../errors.js'
import type { CleanupReport, ConnectorCatalog, SourceRuntime } from '../ports.js'
import { type ConnectorConfig, normalizeConfig } from './config-validation.js'
import type { DesiredState, Source } from './source.js'

export interface SourceInput {
  name: string
  connector: string
  config: Record<string, unknown>
  createdFrom?: string
  desiredState?: DesiredState
  tags?: string[] | null
  kcClusterId?: string | null
}

export interface SourceListFilter extends Omit<SourceListQuery, 'offset' | 'limit'> {
  page: number
  pageSize: number
}

export interface SourceServiceDeps {
  repo: SourceRepository
  catalog: ConnectorCatalog
  secrets: SecretBox
  runtime: () => SourceRuntime
  /** Pipelines reading a source's topics: a source they use cannot be deleted (409), as for destinations. */
  pipelines: { forSource(sourceId: string): Promise<Array<{ id: string }>> }
  now?: () => number
}

export function createSourceService(deps: SourceServiceDeps) {
  const now = deps.now ?? Date.now

  const secretKeys = (connector: string): Set<string> => secretKeysOf(deps.catalog.sourceSpec(connector))
  const seal = (connector: string, config: ConnectorConfig): string => sealConfig(config, secretKeys(connector), deps.secrets)
  const toSource = (row: SourceRow, decrypt = true): Source => entityFromRow(row, deps.secrets, decrypt)

  const specFor = (connector: string) => requireSpec('source', connector, deps.catalog.sourceSpecs())
  const getRow = (id: string): Promise<SourceRow> => requireRow(deps.repo, 'source', id)

  return {
    async create(input: SourceInput): Promise<Source> {
      const spec = specFor(input.connector)
      const id = newId(now())
      const config = normalizeConfig(spec, input.config, { entityId: id })
      await assertNameFree(deps.repo, 'source', input.name)
      const row = newEntityRow({
        id,
        name: input.name,
        connector: spec.code,
        sealedConfig: seal(spec.code, config),
        desiredState: input.desiredState ?? 'Active',
        initialStatus: 'Stopped',
        tags: input.tags,
        createdFrom: input.createdFrom,
        kcClusterId: input.kcClusterId,
        at: new Date(now()).toISOString(),
      })
      await withUniqueName('source', input.name, () => deps.repo.insert(row))
      const source = toSource(row)
      await deps.runtime().reconcile(source)
      return this.get(id)
    },

    async get(id: string): Promise<Source> {
      return toSource(await getRow(id))
    },

    async all(): Promise<Source[]> {
      return (await deps.repo.all()).map((row) => toSource(row))
    },

    /** A page of sources; secrets stay sealed unless `decryptSecrets` (the caller will show them). */
    async list(filter: SourceListFilter, options: { decryptSecrets: boolean }): Promise<{ sources: Source[]; total: number }> {
      const { page, pageSize, ...query } = filter
      const { rows, total } = await deps.repo.list({ ...query, offset: (page - 1) * pageSize, limit: pageSize })
      return { sources: rows.map((row) => toSource(row, options.decryptSecrets)), total }
    },

    async update(id: string, input: SourceInput): Promise<Source> {
      const current = toSource(await getRow(id))
      if (input.connector !== current.connector) {
        throw InvalidInputError.of(['body', 'connector'], 'Value error, the connector of a source cannot change', input.connector)
      }
      const spec = specFor(current.connector)
      const config = normalizeConfig(spec, input.config, { entityId: id, existing: current.config })
      await assertNameFree(deps.repo, 'source', input.name, id)
      const changes: Partial<SourceRow> = {
        name: input.name,
        config: seal(spec.code, config),
        updated_at: new Date(now()).toISOString(),
      }
      if (input.tags !== undefined && input.tags !== null) changes.tags = JSON.stringify(input.tags)
      if (input.desiredState) changes.desired_state = input.desiredState
      if (input.kcClusterId !== undefined) changes.kc_cluster_id = input.kcClusterId
      await withUniqueName('source', input.name, () => deps.repo.update(id, changes))
      const updated = await this.get(id)
      await deps.runtime().reconcile(updated)
      return this.get(id)
    },

    /** Stops the task, removes the slot and publication Sluice created, then forgets the source. */
    async delete(id: string): Promise<{ source: Source; cleanup: CleanupReport }> {
      const source = toSource(await getRow(id))
      const used = await deps.pipelines.forSource(id)
      if (used.length > 0) {
        throw new ConflictError(`Source ${id} is used by pipeline(s) ${used.map((p) => p.id).join(', ')}; delete them first`)
      }
      const cleanup = await deps.runtime().remove(source)
      await deps.repo.delete(id)
      return { source, cleanup }
    },

    async setDesiredState(id: string, desiredState: DesiredState): Promise<Source> {
      await getRow(id)
      await deps.repo.update(id, { desired_state: desiredState, updated_at: new Date(now()).toISOString() })
      const source = await this.get(id)
      await deps.runtime().reconcile(source)
      return this.get(id)
    },

    secretKeys,
  }
}

export type SourceService = ReturnType<typeof createSourceService>
