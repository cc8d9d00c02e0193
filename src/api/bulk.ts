/**
 * Streamkap's bulk operations: a body selecting entities (`ids`, or `select_all`, narrowed by `filters`), one result
 * per entity and a summary. One entity failing (a 404, a 409) does not stop the others.
 */
import { z } from '@hono/zod-openapi'

export const BulkResult = z
  .object({
    results: z.array(z.object({ id: z.string(), success: z.boolean(), message: z.string(), data: z.record(z.string(), z.any()).optional() })),
    summary: z.object({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }),
  })
  .openapi('BulkOperationResult')

export const BulkSelection = z.looseObject({
  ids: z.array(z.string()).nullish(),
  select_all: z.boolean().default(false),
  /** `source_id` / `destination_id`: only entities of, or linked by a pipeline to, that source or destination. */
  filters: z.looseObject({ source_id: z.string().nullish(), destination_id: z.string().nullish() }).nullish(),
})

export const BulkDeleteBody = BulkSelection.openapi('BulkDeleteBody')

export type BulkItem = { id: string; success: boolean; message: string; data?: Record<string, unknown> }

export function bulkResult(results: BulkItem[]) {
  const succeeded = results.filter((r) => r.success).length
  return { results, summary: { total: results.length, succeeded, failed: results.length - succeeded } }
}

export async function attempt(id: string, work: () => Promise<Record<string, unknown>>, ok: string): Promise<BulkItem> {
  try {
    return { id, success: true, message: ok, data: await work() }
  } catch (error) {
    return { id, success: false, message: (error as Error).message }
  }
}

/** How a filter maps to entity ids: the ids a source filter or a destination filter allows. */
export interface BulkFilterLinks {
  bySource(sourceId: string): Promise<string[]>
  byDestination(destinationId: string): Promise<string[]>
}

/** A pipeline's two ends: what links a source to a destination for the filters. */
export type PipelineLinks = () => Promise<Array<{ sourceId: string; destinationId: string }>>

/** Filters for destinations: `source_id` selects those its pipelines deliver to. */
export function destinationLinks(pipelines: PipelineLinks): BulkFilterLinks {
  return {
    bySource: async (sourceId) => (await pipelines()).filter((p) => p.sourceId === sourceId).map((p) => p.destinationId),
    byDestination: async (destinationId) => [destinationId],
  }
}

/** Filters for sources: `destination_id` selects those whose pipelines deliver to it. */
export function sourceLinks(pipelines: PipelineLinks): BulkFilterLinks {
  return {
    bySource: async (sourceId) => [sourceId],
    byDestination: async (destinationId) => (await pipelines()).filter((p) => p.destinationId === destinationId).map((p) => p.sourceId),
  }
}

/** The ids a bulk body selects: `ids` as given (in order) or every id with `select_all`, narrowed by the filters. */
export async function selectIds(body: z.infer<typeof BulkSelection>, all: () => Promise<string[]>, links?: BulkFilterLinks): Promise<string[]> {
  let ids = body.select_all ? await all() : [...new Set(body.ids ?? [])]
  const { source_id: sourceId, destination_id: destinationId } = body.filters ?? {}
  if (links && sourceId) {
    const allowed = new Set(await links.bySource(sourceId))
    ids = ids.filter((id) => allowed.has(id))
  }
  if (links && destinationId) {
    const allowed = new Set(await links.byDestination(destinationId))
    ids = ids.filter((id) => allowed.has(id))
  }
  return ids
}
