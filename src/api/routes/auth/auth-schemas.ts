import { z } from '@hono/zod-openapi'

export const AccessTokenBody = z
  .object({ client_id: z.string().min(1), secret: z.string().min(1) })
  .openapi('AccessTokenRequest')

export const RefreshTokenBody = z.object({ refresh_token: z.string().min(1) }).openapi('RefreshTokenRequest')

export const TokenResponse = z
  .object({ accessToken: z.string(), refreshToken: z.string(), expires: z.string(), expiresIn: z.number().int() })
  .openapi('AccessTokenResponse')

export const RoleSchema = z
  .object({ id: z.string(), key: z.string(), name: z.string(), description: z.string(), permissions: z.array(z.string()) })
  .openapi('Role')

export const CreateCredentialBody = z
  .object({
    role_ids: z.array(z.string()).min(1),
    description: z.string().max(500).nullish(),
    service_id: z.string().nullish(),
    created_from: z.enum(['terraform', 'web', 'api']).default('api'),
  })
  .openapi('CreateClientCredentialRequest')

export const CredentialSchema = z
  .object({
    client_id: z.string(),
    description: z.string().nullable(),
    created_at: z.string(),
    service_id: z.string(),
    roles: z.array(RoleSchema),
    created_by_user: z.null(),
    secret: z.string().optional(),
  })
  .openapi('ClientCredential')

export const ClientIdParam = z.object({ client_id: z.string().min(1) })
