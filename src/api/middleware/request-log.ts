/** One structured log line per request: method, path, status, duration, request id, and the caller's client id. */
import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'

export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const principal = c.get('principal') as { clientId?: string } | undefined
    logger.info(
      {
        req_id: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        client_id: principal?.clientId,
      },
      'request',
    )
  }
}
