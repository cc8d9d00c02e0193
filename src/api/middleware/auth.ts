/**
 * Bearer authentication for every route but the public ones, and per-route permission checks. A missing or bad
 * token is a 401 with `WWW-Authenticate: Bearer`; a role without the permission is a 403.
 */
import type { MiddlewareHandler } from 'hono'
import type { AuthService, Principal } from '../../core/auth/auth-service.js'
import type { Permission } from '../../core/auth/roles.js'
import { ForbiddenError, UnauthorizedError } from '../../core/errors.js'

export type AuthVariables = { principal: Principal }

const PUBLIC_PATHS = new Set(['/auth/access-token', '/auth/access-token/refresh', '/healthz', '/openapi.json', '/docs'])

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || path.startsWith('/docs/')
}

export function authenticate(auth: AuthService): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    if (isPublicPath(c.req.path)) return next()
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!match) throw new UnauthorizedError('Not authenticated')
    c.set('principal', await auth.authenticate(match[1]))
    await next()
  }
}

export function requirePermission(permission: Permission): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const principal = c.get('principal')
    if (!principal) throw new UnauthorizedError()
    if (!principal.permissions.has(permission)) throw new ForbiddenError(`Not enough permissions: requires ${permission}`)
    await next()
  }
}

/** True when the caller may see secrets (used with `secret_returned=true`). */
export function maySeeSecrets(principal: Principal | undefined): boolean {
  return principal?.permissions.has('read:secrets') ?? false
}
