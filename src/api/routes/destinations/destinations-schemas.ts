/** Wire shapes of the Destinations tag (Streamkap's snake_case), and the mapping from the domain entity. */
import { z } from '@hono/zod-openapi'
import type { Destination } from '../../../core/destinations/destination.js'
import { REDACTED } from '../../../core/sources/config-validation.js'
import { CONNECTOR_STATUSES, DESIRED_STATES } from '../../../core/sources/source.js'
import { CommaList, PageQuery, QueryBool, listEnvelope } from '../../common-schemas.js'

export const DestinationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    connector: z.string(),
    connector_display_name: z.string(),
    created_timestamp: z.string(),
    sub_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
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
    status_reason: z.string().nullable().openapi({ description: 'Sluice extension: why the destination is Broken' }),
    dead_letter_topic: z.string().openapi({ description: 'Sluice extension: where records the destination rejected go' }),
  })
  .openapi('Destination')

export const DestinationList = listEnvelope(DestinationSchema, 'DestinationList')

export const DestinationBody = z
  .object({
    name: z.string().min(1).max(255),
    connector: z.string().min(1),
    config: z.record(z.string(), z.any()),
    created_from: z.enum(['terraform', 'web', 'api']).default('api'),
    desired_state: z.enum(['Pending', ...DESIRED_STATES]).optional(),
    kc_cluster_id: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
  })
  .openapi('CreateDestinationRequest')

export const DestinationIdParam = z.object({
  destination_id: z.string().min(1).openapi({ param: { name: 'destination_id', in: 'path' } }),
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
  tag_ids: CommaList.optional(),
}

export const DestinationListQuery = z.object({
  ...PageQuery,
  sort: z.enum(['name', 'created_at', 'created_timestamp', 'connector_status']).default('created_at'),
  secret_returned: QueryBool.optional(),
  ...filterFields,
})

export const DestinationSearchBody = z.object(filterFields).partial().openapi('DestinationSearchRequest')

export function destinationView(
  destination: Destination,
  options: { topics: string[]; revealSecrets: boolean; secretKeys: Set<string>; displayName: string; deadLetterTopic: string },
) {
  const config = Object.fromEntries(
    Object.entries(destination.config).map(([k, v]) => [k, options.secretKeys.has(k) && !options.revealSecrets ? REDACTED : v]),
  )
  return {
    id: destination.id,
    name: destination.name,
    connector: destination.connector,
    connector_display_name: options.displayName,
    created_timestamp: destination.createdAt,
    sub_id: null,
    tenant_id: null,
    config,
    topic_ids: options.topics,
    topic_map: {},
    topics: options.topics,
    tasks: [0],
    connector_status: destination.connectorStatus,
    desired_state: destination.desiredState,
    kc_cluster_id: destination.kcClusterId,
    task_statuses: destination.taskStatuses,
    tags: destination.tags,
    status_reason: destination.statusReason,
    dead_letter_topic: options.deadLetterTopic,
  }
}
