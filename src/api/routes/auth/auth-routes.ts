/** Authentication: tokens from client credentials, refresh, roles, and credential management (Admin only). */
import { createRoute, z } from '@hono/zod-openapi'
import type { AuthService, Credential } from '../../../core/auth/auth-service.js'
import { ROLES } from '../../../core/auth/roles.js'
import { createRouter } from '../../app-env.js'
import { ErrorDetail, HTTPValidationError, NOT_FOUND, STANDARD_ERRORS, jsonBody, jsonResponse } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'
import { AccessTokenBody, ClientIdParam, CreateCredentialBody, CredentialSchema, RefreshTokenBody, RoleSchema, TokenResponse } from './auth-schemas.js'

const TAG = ['Authentication']
const PUBLIC_ERRORS = {
  401: jsonResponse(ErrorDetail, 'Invalid credentials or refresh token'),
  422: jsonResponse(HTTPValidationError, 'Validation Error'),
}

function credentialView(c: Credential, secret?: string) {
  return {
    client_id: c.clientId,
    description: c.description,
    created_at: c.createdAt,
    service_id: c.serviceId,
    roles: c.roles,
    created_by_user: null,
    ...(secret ? { secret } : {}),
  }
}

export function createAuthRoutes(auth: AuthService) {
  const app = createRouter()

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/access-token',
      tags: TAG,
      summary: 'Get Access Token',
      operationId: 'getAccessToken',
      request: { body: jsonBody(AccessTokenBody) },
      responses: { 200: jsonResponse(TokenResponse), ...PUBLIC_ERRORS },
    }),
    async (c) => {
      const body = c.req.valid('json')
      return c.json(await auth.issueTokens(body.client_id, body.secret), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/access-token/refresh',
      tags: TAG,
      summary: 'Refresh Access Token',
      operationId: 'refreshAccessToken',
      request: { body: jsonBody(RefreshTokenBody) },
      responses: { 200: jsonResponse(TokenResponse), ...PUBLIC_ERRORS },
    }),
    async (c) => c.json(await auth.refresh(c.req.valid('json').refresh_token), 200),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/auth/roles',
      tags: TAG,
      summary: 'List Roles',
      operationId: 'listRoles',
      security: [{ HTTPBearer: [] }],
      responses: { 200: jsonResponse(z.array(RoleSchema)), ...STANDARD_ERRORS },
    }),
    (c) => c.json(ROLES.map((r) => ({ ...r, permissions: [...r.permissions] })), 200),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/auth/client-credentials',
      tags: TAG,
      summary: 'List Client Credentials',
      operationId: 'listClientCredentials',
      security: [{ HTTPBearer: [] }],
      middleware: [requirePermission('read:credentials')],
      responses: { 200: jsonResponse(z.array(CredentialSchema)), ...STANDARD_ERRORS },
    }),
    async (c) => c.json((await auth.listCredentials()).map((cred) => credentialView(cred)), 200),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/client-credentials',
      tags: TAG,
      summary: 'Create Client Credential',
      description: 'The secret is returned only in this response.',
      operationId: 'createClientCredential',
      security: [{ HTTPBearer: [] }],
      middleware: [requirePermission('write:credentials')],
      request: { body: jsonBody(CreateCredentialBody) },
      responses: { 200: jsonResponse(CredentialSchema), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const created = await auth.createCredential({
        roleIds: body.role_ids,
        description: body.description,
        serviceId: body.service_id,
        createdFrom: body.created_from,
      })
      return c.json(credentialView(created, created.secret), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/auth/client-credentials/{client_id}',
      tags: TAG,
      summary: 'Delete Client Credential',
      operationId: 'deleteClientCredential',
      security: [{ HTTPBearer: [] }],
      middleware: [requirePermission('write:credentials')],
      request: { params: ClientIdParam },
      responses: { 200: jsonResponse(z.object({})), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      await auth.deleteCredential(c.req.valid('param').client_id)
      return c.json({}, 200)
    },
  )

  return app
}
