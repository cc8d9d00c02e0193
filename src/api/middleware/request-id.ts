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
    // Responses built through the context (c.json, c.body, the error and not-found handlers) already carry the
    // header set above. Setting it again on a finished response makes Hono rebuild the response around a
    // ReadableStream of its body (@hono/node-server then leaves its fast path for strings), which cost a third of
    // the server's time under bench/http-sources.bench.ts; so only a response that lacks it gets it here.
    if (c.res.headers.get('x-request-id') !== id) c.header('X-Request-Id', id)
  }
}
