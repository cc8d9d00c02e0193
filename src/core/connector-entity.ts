/**
 * What sources and destinations share: the stored row ↔ entity mapping, and sealing a config's secrets before it is
 * stored. Both entities have Streamkap's same lifecycle fields, so one mapping serves both services.
 */
import type { ConnectorSpec } from '../connectors/connector-spec.js'
import type { SourceTable } from '../store/schema.js'
import { isUniqueViolation } from '../store/db.js'
import type { SecretBox } from '../util/secret-box.js'
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js'
import type { ConnectorConfig } from './sources/config-validation.js'
import type { ConnectorStatus, DesiredState, TaskStatuses } from './sources/source.js'

export interface ConnectorEntity {
  id: string
  name: string
  connector: string
  config: ConnectorConfig
  desiredState: DesiredState
  connectorStatus: ConnectorStatus
  statusReason: string | null
  taskStatuses: TaskStatuses
  tags: string[]
  createdFrom: string
  kcClusterId: string | null
  createdAt: string
  updatedAt: string
}

export function secretKeysOf(spec: ConnectorSpec | undefined): Set<string> {
  return new Set(spec?.properties.filter((p) => p.secret).map((p) => p.name) ?? [])
}

/** The config as stored: secret values encrypted. */
export function sealConfig(config: ConnectorConfig, secretKeys: Set<string>, secrets: SecretBox): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(config).map(([k, v]) => [k, secretKeys.has(k) && typeof v === 'string' ? secrets.encrypt(v) : v])),
  )
}

/**
 * `decrypt: false` leaves secrets sealed, for listings that will redact them anyway: decrypting every listed
 * entity's password was a measurable share of `GET /sources` (bench/http-sources.bench.ts).
 */
export function entityFromRow(row: SourceTable, secrets: SecretBox, decrypt = true): ConnectorEntity {
  const stored = JSON.parse(row.config) as ConnectorConfig
  const config = decrypt
    ? Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, typeof v === 'string' ? secrets.decrypt(v) : v]))
    : stored
  return {
    id: row.id,
    name: row.name,
    connector: row.connector,
    config,
    desiredState: row.desired_state as DesiredState,
    connectorStatus: row.connector_status as ConnectorStatus,
    statusReason: row.status_reason,
    taskStatuses: JSON.parse(row.task_statuses) as TaskStatuses,
    tags: JSON.parse(row.tags) as string[],
    createdFrom: row.created_from,
    kcClusterId: row.kc_cluster_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export interface NewEntityRow {
  id: string
  name: string
  connector: string
  sealedConfig: string
  desiredState: DesiredState
  /** What the entity reports before its runtime first says otherwise. */
  initialStatus: ConnectorStatus
  tags: string[] | null | undefined
  createdFrom: string | undefined
  kcClusterId: string | null | undefined
  at: string
}

export function newEntityRow(input: NewEntityRow): SourceTable {
  return {
    id: input.id,
    name: input.name,
    connector: input.connector,
    config: input.sealedConfig,
    desired_state: input.desiredState,
    connector_status: input.initialStatus,
    status_reason: null,
    task_statuses: '{}',
    tags: JSON.stringify(input.tags ?? []),
    created_from: input.createdFrom ?? 'api',
    kc_cluster_id: input.kcClusterId ?? null,
    created_at: input.at,
    updated_at: input.at,
  }
}

/** The 409 for a taken name, e.g. `A source named "x" already exists`. */
export function duplicateName(kind: 'source' | 'destination', name: string): ConflictError {
  return new ConflictError(`A ${kind} named ${JSON.stringify(name)} already exists`)
}

interface NamedRows {
  getByName(name: string): Promise<{ id: string } | undefined>
}

/** Names are unique per kind; the unique index is the final word, this gives the friendly error first. */
export async function assertNameFree(repo: NamedRows, kind: 'source' | 'destination', name: string, exceptId?: string): Promise<void> {
  const other = await repo.getByName(name)
  if (other && other.id !== exceptId) throw duplicateName(kind, name)
}

/** Runs a write; a unique-constraint violation (a concurrent create with the same name) becomes the same 409. */
export async function withUniqueName<T>(kind: 'source' | 'destination', name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateName(kind, name)
    throw err
  }
}

/** The connector spec for `code`, or a 422 on `body.connector` listing the known ones. */
export function requireSpec(kind: 'source' | 'destination', code: string, specs: readonly ConnectorSpec[]): ConnectorSpec {
  const spec = specs.find((s) => s.code === code)
  if (!spec) {
    const known = specs.map((s) => `'${s.code}'`).join(', ')
    throw InvalidInputError.of(['body', 'connector'], `Value error, unknown ${kind} connector; known: ${known}`, code)
  }
  return spec
}

/** The stored row, or a 404. */
export async function requireRow(repo: { get(id: string): Promise<SourceTable | undefined> }, kind: 'source' | 'destination', id: string): Promise<SourceTable> {
  const row = await repo.get(id)
  if (!row) throw new NotFoundError(kind, id)
  return row
}
