/** Wire schemas shared by every API tag: error bodies, pagination, list envelopes, and the standard error responses. */
import { z } from '@hono/zod-openapi'

export const ErrorDetail = z.object({ detail: z.string() }).openapi('ErrorDetail')

export const ValidationError = z
  .object({
    loc: z.array(z.union([z.string(), z.number().int()])),
    msg: z.string(),
    type: z.string(),
    input: z.any().optional(),
    ctx: z.record(z.string(), z.any()).optional(),
  })
  .openapi('ValidationError')

export const HTTPValidationError = z.object({ detail: z.array(ValidationError) }).openapi('HTTPValidationError')

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } })

/** 401/403/422 apply to every authenticated route; 404/409 are added where they can happen. */
export const STANDARD_ERRORS = {
  401: json(ErrorDetail, 'Missing, invalid or expired bearer token'),
  403: json(ErrorDetail, 'The role of the token does not allow this operation'),
  422: json(HTTPValidationError, 'Validation Error'),
} as const

export const NOT_FOUND = { 404: json(ErrorDetail, 'Entity not found') } as const
export const CONFLICT = { 409: json(ErrorDetail, 'Conflict with the current state') } as const

export function jsonResponse<T extends z.ZodType>(schema: T, description = 'Successful Response') {
  return { description, content: { 'application/json': { schema } } }
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } }
}

/** Query flags shared by list endpoints (Streamkap's names and limits). */
export const PageQuery = {
  page: z.coerce.number().int().min(1).default(1).openapi({ description: '1-based page number' }),
  page_size: z.coerce.number().int().min(1).max(100).default(10).openapi({ description: 'Items per page (max 100)' }),
  sort_dir: z.enum(['asc', 'desc']).default('asc'),
}

/** `?flag=true` as FastAPI parses booleans in a query string. */
export const QueryBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', 'True', 'False'])
  .transform((v) => ['true', '1', 'yes', 'on', 'True'].includes(v))

/** A comma-separated list in a query string, or an array in a search body. */
export const CommaList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))

export function listEnvelope<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      result: z.array(item),
      page: z.number().int().nullable(),
      page_size: z.number().int().nullable(),
      total: z.number().int().nullable(),
      has_next: z.boolean().nullable(),
    })
    .openapi(name)
}

export function page<T>(result: T[], pageNo: number, pageSize: number, total: number) {
  return { result, page: pageNo, page_size: pageSize, total, has_next: pageNo * pageSize < total }
}
