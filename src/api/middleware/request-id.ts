/** Gives every request an id (the caller's `X-Request-Id` when it sends a sane one) and echoes it in the response. */
import { randomUUID } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'

export type RequestIdVariables = { requestId: string }

const SANE = /^[A-Za-z0-9._:-]{1,128}$/

export function requestId(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async (c, next) => {
    const given = c.req.header('x-request-id')
    const id = given && SANE.test(given) ? given : randomUUID()
    c.set('requestId', id)
    c.header('X-Request-Id', id)
    await next()
    c.header('X-Request-Id', id)
  }
}
