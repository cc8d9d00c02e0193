/** Wire shapes of the Sources tag (Streamkap's snake_case), and the mapping from the domain entity. */
import { z } from '@hono/zod-openapi'
import type { ConfigProperty, ConnectorSpec } from '../../../connectors/connector-spec.js'
import { REDACTED } from '../../../core/sources/config-validation.js'
import { CONNECTOR_STATUSES, DESIRED_STATES, type Source } from '../../../core/sources/source.js'
import { CommaList, PageQuery, QueryBool, listEnvelope } from '../../common-schemas.js'

export const SNAPSHOT_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const

export const SourceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    connector: z.string(),
    connector_display_name: z.string(),
    created_timestamp: z.string(),
    sub_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
    service_id: z.string().nullable(),
    config: z.record(z.string(), z.any()),
    topic_ids: z.array(z.string()),
    topic_map: z.record(z.string(), z.any()),
    topics: z.array(z.string()),
    tasks: z.array(z.number().int()),
    connector_status: z.enum(CONNECTOR_STATUSES),
    desired_state: z.enum(DESIRED_STATES),
    kc_cluster_id: z.string().nullable(),
    task_statuses: z.record(z.string(), z.object({ state: z.string(), trace: z.string().optional() })),
    tags: z.array(z.string()),
    status_reason: z.string().nullable().openapi({ description: 'Sluice extension: why the connector is Broken or Paused' }),
  })
  .openapi('Source')

export const SourceList = listEnvelope(SourceSchema, 'SourceList')

export const SourceBody = z
  .object({
    name: z.string().min(1).max(255),
    connector: z.string().min(1),
    config: z.record(z.string(), z.any()),
    created_from: z.enum(['terraform', 'web', 'api']).default('api'),
    desired_state: z.enum(['Pending', ...DESIRED_STATES]).optional(),
    kc_cluster_id: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
  })
  .openapi('CreateSourceRequest')

export const SourceIdParam = z.object({ source_id: z.string().min(1).openapi({ param: { name: 'source_id', in: 'path' } }) })

export const EntityQuery = z.object({
  secret_returned: QueryBool.optional(),
  wait: QueryBool.optional(),
})

const filterFields = {
  id: CommaList.optional(),
  partial_name: z.string().optional(),
  connector: CommaList.optional(),
  status: z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(CONNECTOR_STATUSES)))
    .optional(),
  snapshot: z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(SNAPSHOT_STATUSES)))
    .optional(),
  tag_ids: CommaList.optional(),
}

export const SourceListQuery = z.object({
  ...PageQuery,
  sort: z.enum(['name', 'created_at', 'created_timestamp', 'connector_status']).default('created_at'),
  secret_returned: QueryBool.optional(),
  ...filterFields,
})

export const SourceSearchBody = z.object(filterFields).partial().openapi('SourceSearchRequest')

export function sourceView(source: Source, options: { topics: string[]; revealSecrets: boolean; secretKeys: Set<string>; displayName: string }) {
  const config = Object.fromEntries(
    Object.entries(source.config).map(([k, v]) => [k, options.secretKeys.has(k) && !options.revealSecrets ? REDACTED : v]),
  )
  return {
    id: source.id,
    name: source.name,
    connector: source.connector,
    connector_display_name: options.displayName,
    created_timestamp: source.createdAt,
    sub_id: null,
    tenant_id: null,
    service_id: null,
    config,
    topic_ids: options.topics,
    topic_map: {},
    topics: options.topics,
    tasks: [0],
    connector_status: source.connectorStatus,
    desired_state: source.desiredState,
    kc_cluster_id: source.kcClusterId,
    task_statuses: source.taskStatuses,
    tags: source.tags,
    status_reason: source.statusReason,
  }
}

const CONTROLS: Record<ConfigProperty['type'], string> = {
  string: 'string',
  password: 'password',
  int: 'number',
  boolean: 'toggle',
  enum: 'one-select',
}

/** `GET /sources/connectors`: each connector's property definitions, keyed by display name (Streamkap's shape). */
export function connectorSchemaView(specs: readonly ConnectorSpec[]) {
  return Object.fromEntries(
    specs.map((spec) => [
      spec.displayName,
      spec.properties.map((p, i) => ({
        name: p.name,
        display_name: p.displayName,
        description: p.description,
        required: p.required,
        user_defined: true,
        value: { control: CONTROLS[p.type], type: 'raw', default: p.default ?? null, raw_values: p.values ?? null, min: p.min ?? null, max: p.max ?? null },
        encrypt: p.secret ?? false,
        set_once: p.setOnce ?? false,
        display_advanced: p.advanced ?? false,
        order_of_display: i,
        aliases: p.aliases ?? [],
        ignored: p.ignored ?? false,
        connector_code: spec.code,
      })),
    ]),
  )
}
