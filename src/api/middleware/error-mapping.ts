/**
 * The one place domain errors become HTTP responses. Client mistakes get 4xx with `{"detail": …}`; anything else is
 * logged with the request id and answered with a 500 that leaks nothing.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from 'pino'
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError } from '../../core/errors.js'
import { GroupNotFoundError, InvalidLogRequestError, TopicExistsError, TopicNotFoundError } from '../../log/log-errors.js'

export function errorHandler(logger: Logger): ErrorHandler {
  return (err, c: Context) => {
    if (err instanceof InvalidInputError) return c.json({ detail: err.problems }, 422)
    if (err instanceof NotFoundError) return c.json({ detail: `${capitalize(err.entity)} not found: ${err.id}` }, 404)
    if (err instanceof ConflictError) return c.json({ detail: err.message }, 409)
    if (err instanceof UnauthorizedError) {
      c.header('WWW-Authenticate', 'Bearer')
      return c.json({ detail: err.message }, 401)
    }
    if (err instanceof ForbiddenError) return c.json({ detail: err.message }, 403)
    // The topic log's own caller-mistake errors, when a service lets one through.
    if (err instanceof TopicNotFoundError) return c.json({ detail: `Topic not found: ${err.topic}` }, 404)
    if (err instanceof GroupNotFoundError) return c.json({ detail: `Consumer group not found: ${err.group}` }, 404)
    if (err instanceof TopicExistsError) return c.json({ detail: err.message }, 409)
    if (err instanceof InvalidLogRequestError) {
      return c.json({ detail: [{ type: 'value_error', loc: ['body', snakeCase(err.field)], msg: `Value error, ${err.message}`, input: null }] }, 422)
    }
    if (err instanceof HTTPException) {
      if (err.status === 400 && /Malformed JSON/i.test(err.message)) {
        return c.json(
          { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: 'Invalid JSON' } }] },
          422,
        )
      }
      return c.json({ detail: err.message || 'Bad request' }, err.status)
    }
    logger.error({ err, req_id: c.get('requestId'), path: c.req.path }, 'unhandled error')
    return c.json({ detail: 'Internal server error', request_id: c.get('requestId') }, 500)
  }
}

export const notFoundHandler: NotFoundHandler = (c) => c.json({ detail: 'Not Found' }, 404)

/** The log names fields in camelCase (`retentionMs`); the wire uses snake_case (`retention_ms`). */
function snakeCase(field: string): string {
  return field === 'partitions' ? 'num_partitions' : field.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
