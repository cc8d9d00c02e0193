/**
 * Client credentials and bearer tokens.
 *
 * Tokens are opaque random strings; only their SHA-256 is stored, joined to the credential on every check, so
 * deleting a credential revokes its tokens at once. Access tokens are short-lived; refresh tokens rotate: using one
 * deletes it and issues a new pair, and a refresh token that was already used is refused.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { CredentialRepository, CredentialRow } from '../../store/credential-repository.js'
import { hashSecret, verifySecret } from '../../util/password-hash.js'
import { InvalidInputError, NotFoundError, UnauthorizedError } from '../errors.js'
import { type Permission, type Role, findRole, permissionsOf } from './roles.js'

export interface Principal {
  clientId: string
  roleIds: string[]
  permissions: Set<Permission>
}

export interface TokenPair {
  accessToken: string
  refreshToken: string
  /** ISO-8601 expiry of the access token. */
  expires: string
  expiresIn: number
}

export interface Credential {
  clientId: string
  description: string | null
  serviceId: string
  createdAt: string
  roles: Role[]
}

export interface AuthServiceOptions {
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  now?: () => number
}

export const DEFAULT_SERVICE_ID = 'default'

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function toCredential(row: CredentialRow): Credential {
  const roleIds = JSON.parse(row.role_ids) as string[]
  return {
    clientId: row.client_id,
    description: row.description,
    serviceId: row.service_id,
    createdAt: row.created_at,
    roles: roleIds.map((id) => findRole(id)).filter((r): r is Role => r !== undefined),
  }
}

export function createAuthService(repo: CredentialRepository, options: AuthServiceOptions) {
  const now = options.now ?? Date.now

  function resolveRoles(roleIds: string[]): string[] {
    const problems = roleIds.flatMap((id, i) =>
      findRole(id) ? [] : [{ loc: ['body', 'role_ids', i], type: 'value_error', msg: `Value error, unknown role ${JSON.stringify(id)}`, input: id }],
    )
    if (problems.length > 0) throw new InvalidInputError(problems)
    return [...new Set(roleIds.map((id) => (findRole(id) as Role).id))]
  }

  async function issue(clientId: string): Promise<TokenPair> {
    const t = now()
    const accessToken = randomBytes(32).toString('base64url')
    const refreshToken = randomBytes(32).toString('base64url')
    const accessExpires = t + options.accessTokenTtlSeconds * 1000
    await repo.insertToken({ tokenHash: sha256(accessToken), kind: 'access', clientId, expiresAt: accessExpires }, t)
    await repo.insertToken(
      { tokenHash: sha256(refreshToken), kind: 'refresh', clientId, expiresAt: t + options.refreshTokenTtlSeconds * 1000 },
      t,
    )
    return {
      accessToken,
      refreshToken,
      expires: new Date(accessExpires).toISOString(),
      expiresIn: options.accessTokenTtlSeconds,
    }
  }

  return {
    async createCredential(input: {
      roleIds: string[]
      description?: string | null
      serviceId?: string | null
      createdFrom?: string
      clientId?: string
      secret?: string
    }): Promise<Credential & { secret: string }> {
      const roleIds = resolveRoles(input.roleIds)
      const clientId = input.clientId ?? randomUUID()
      const secret = input.secret ?? randomBytes(30).toString('base64url')
      const row: CredentialRow = {
        client_id: clientId,
        secret_hash: await hashSecret(secret),
        description: input.description ?? null,
        role_ids: JSON.stringify(roleIds),
        service_id: input.serviceId ?? DEFAULT_SERVICE_ID,
        created_from: input.createdFrom ?? 'api',
        created_at: new Date(now()).toISOString(),
      }
      await repo.insert(row)
      return { ...toCredential(row), secret }
    },

    /** Makes sure a credential with exactly this id, secret and roles exists (the admin bootstrap). */
    async ensureCredential(clientId: string, secret: string, roleIds: string[]): Promise<void> {
      const existing = await repo.get(clientId)
      if (!existing) {
        await this.createCredential({ clientId, secret, roleIds, description: 'Administrator (from SLUICE_ADMIN_CLIENT_ID)' })
        return
      }
      const sameRoles = JSON.stringify(JSON.parse(existing.role_ids)) === JSON.stringify(resolveRoles(roleIds))
      if (!sameRoles || !(await verifySecret(secret, existing.secret_hash))) {
        await repo.updateSecret(clientId, await hashSecret(secret), resolveRoles(roleIds))
      }
    },

    async countCredentials(): Promise<number> {
      return repo.count()
    },

    async listCredentials(): Promise<Credential[]> {
      return (await repo.list()).map(toCredential)
    },

    async deleteCredential(clientId: string): Promise<void> {
      if (!(await repo.delete(clientId))) throw new NotFoundError('client credential', clientId)
    },

    async issueTokens(clientId: string, secret: string): Promise<TokenPair> {
      const row = await repo.get(clientId)
      // Same answer for an unknown id and a wrong secret: do not tell which client ids exist.
      if (!row || !(await verifySecret(secret, row.secret_hash))) throw new UnauthorizedError('Invalid client credentials')
      await repo.deleteExpiredTokens(now())
      return issue(clientId)
    },

    async refresh(refreshToken: string): Promise<TokenPair> {
      const token = await repo.findToken(sha256(refreshToken))
      if (!token || token.kind !== 'refresh' || token.expiresAt <= now()) {
        throw new UnauthorizedError('Invalid or expired refresh token')
      }
      // Rotation: only the caller that deletes the old refresh token gets a new pair.
      if (!(await repo.deleteToken(token.tokenHash))) throw new UnauthorizedError('Invalid or expired refresh token')
      return issue(token.clientId)
    },

    async authenticate(accessToken: string): Promise<Principal> {
      const token = await repo.findToken(sha256(accessToken))
      if (!token || token.kind !== 'access') throw new UnauthorizedError('Invalid token')
      if (token.expiresAt <= now()) throw new UnauthorizedError('Token expired')
      return { clientId: token.clientId, roleIds: token.roleIds, permissions: permissionsOf(token.roleIds) }
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
