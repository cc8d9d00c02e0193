/**
 * Destination use cases: create, list, read, update, delete, lifecycle. Validation happens before anything is
 * written; secrets are sealed before they reach the store; the runtime is told after the store has the new state and
 * owns `connector_status` from then on. A destination used by a pipeline cannot be deleted (409): deleting the
 * pipeline first is an explicit decision to stop that delivery.
 */
import type { DestinationListQuery, DestinationRepository, DestinationRow } from '../../store/destination-repository.js'
import type { PipelineRepository } from '../../store/pipeline-repository.js'
import { newId } from '../../util/ids.js'
import type { SecretBox } from '../../util/secret-box.js'
import { assertNameFree, entityFromRow, newEntityRow, requireRow, requireSpec, sealConfig, secretKeysOf, withUniqueName } from '../connector-entity.js'
import { ConflictError, InvalidInputError } from '../errors.js'
import { type ConnectorConfig, normalizeConfig } from '../sources/config-validation.js'
import type { DesiredState } from '../sources/source.js'
import type { DeliveryRuntime, Destination, DestinationCatalog } from './destination.js'

export interface DestinationInput {
  name: string
  connector: string
  config: Record<string, unknown>
  createdFrom?: string
  desiredState?: DesiredState
  tags?: string[] | null
  kcClusterId?: string | null
}

export interface DestinationListFilter extends Omit<DestinationListQuery, 'offset' | 'limit'> {
  page: number
  pageSize: number
}

export interface DestinationServiceDeps {
  repo: DestinationRepository
  pipelines: PipelineRepository
  catalog: DestinationCatalog
  secrets: SecretBox
  runtime: () => DeliveryRuntime
  now?: () => number
}

export function createDestinationService(deps: DestinationServiceDeps) {
  const now = deps.now ?? Date.now

  const secretKeys = (connector: string): Set<string> => secretKeysOf(deps.catalog.destinationSpec(connector))
  const seal = (connector: string, config: ConnectorConfig): string => sealConfig(config, secretKeys(connector), deps.secrets)
  const toDestination = (row: DestinationRow): Destination => entityFromRow(row, deps.secrets)

  const specFor = (connector: string) => requireSpec('destination', connector, deps.catalog.destinationSpecs())
  const getRow = (id: string): Promise<DestinationRow> => requireRow(deps.repo, 'destination', id)

  return {
    async create(input: DestinationInput): Promise<Destination> {
      const spec = specFor(input.connector)
      const id = newId(now())
      const config = normalizeConfig(spec, input.config, { entityId: id })
      await assertNameFree(deps.repo, 'destination', input.name)
      const row = newEntityRow({
        id,
        name: input.name,
        connector: spec.code,
        sealedConfig: seal(spec.code, config),
        desiredState: input.desiredState ?? 'Active',
        initialStatus: 'Active',
        tags: input.tags,
        createdFrom: input.createdFrom,
        kcClusterId: input.kcClusterId,
        at: new Date(now()).toISOString(),
      })
      await withUniqueName('destination', input.name, () => deps.repo.insert(row))
      await deps.runtime().reconcile(id)
      return this.get(id)
    },

    async get(id: string): Promise<Destination> {
      return toDestination(await getRow(id))
    },

    async find(id: string): Promise<Destination | undefined> {
      const row = await deps.repo.get(id)
      return row ? toDestination(row) : undefined
    },

    async all(): Promise<Destination[]> {
      return (await deps.repo.all()).map(toDestination)
    },

    async list(filter: DestinationListFilter): Promise<{ destinations: Destination[]; total: number }> {
      const { page, pageSize, ...query } = filter
      const { rows, total } = await deps.repo.list({ ...query, offset: (page - 1) * pageSize, limit: pageSize })
      return { destinations: rows.map(toDestination), total }
    },

    async update(id: string, input: DestinationInput): Promise<Destination> {
      const current = toDestination(await getRow(id))
      if (input.connector !== current.connector) {
        throw InvalidInputError.of(['body', 'connector'], 'Value error, the connector of a destination cannot change', input.connector)
      }
      const spec = specFor(current.connector)
      const config = normalizeConfig(spec, input.config, { entityId: id, existing: current.config })
      await assertNameFree(deps.repo, 'destination', input.name, id)
      const changes: Partial<DestinationRow> = { name: input.name, config: seal(spec.code, config), updated_at: new Date(now()).toISOString() }
      if (input.tags !== undefined && input.tags !== null) changes.tags = JSON.stringify(input.tags)
      if (input.desiredState) changes.desired_state = input.desiredState
      if (input.kcClusterId !== undefined) changes.kc_cluster_id = input.kcClusterId
      await withUniqueName('destination', input.name, () => deps.repo.update(id, changes))
      await deps.runtime().reconcile(id)
      return this.get(id)
    },

    async delete(id: string): Promise<Destination> {
      const destination = toDestination(await getRow(id))
      const used = await deps.pipelines.forDestination(id)
      if (used.length > 0) {
        throw new ConflictError(`Destination ${id} is used by pipeline(s) ${used.map((p) => p.id).join(', ')}; delete them first`)
      }
      await deps.runtime().removeDestination(id)
      await deps.repo.delete(id)
      return destination
    },

    /** Lifecycle actions; `restart` also stops the running tasks first (new connections, offsets reloaded). */
    async setDesiredState(id: string, desiredState: DesiredState, restart = false): Promise<Destination> {
      await getRow(id)
      await deps.repo.update(id, { desired_state: desiredState, updated_at: new Date(now()).toISOString() })
      if (restart) await deps.runtime().restart(id)
      else await deps.runtime().reconcile(id)
      return this.get(id)
    },

    secretKeys,
  }
}

export type DestinationService = ReturnType<typeof createDestinationService>
