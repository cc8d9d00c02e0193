/** Client credentials and the tokens issued for them. */
import type { Kysely } from 'kysely'
import { createQueryCache } from './db.js'
import type { ClientCredentialTable, Database } from './schema.js'

export type CredentialRow = ClientCredentialTable

export interface TokenRow {
  tokenHash: string
  kind: 'access' | 'refresh'
  clientId: string
  expiresAt: number
}

export function createCredentialRepository(db: Kysely<Database>) {
  const queries = createQueryCache(db)
  return {
    async insert(row: CredentialRow): Promise<void> {
      await db.insertInto('client_credentials').values(row).execute()
    },
    async updateSecret(clientId: string, secretHash: string, roleIds: string[]): Promise<void> {
      await db
        .updateTable('client_credentials')
        .set({ secret_hash: secretHash, role_ids: JSON.stringify(roleIds) })
        .where('client_id', '=', clientId)
        .execute()
    },
    async get(clientId: string): Promise<CredentialRow | undefined> {
      return db.selectFrom('client_credentials').selectAll().where('client_id', '=', clientId).executeTakeFirst()
    },
    async list(): Promise<CredentialRow[]> {
      return db.selectFrom('client_credentials').selectAll().orderBy('created_at').execute()
    },
    async count(): Promise<number> {
      const row = await db.selectFrom('client_credentials').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()
      return Number(row?.n ?? 0)
    },
    /** Deletes the credential and every token issued for it, in one transaction. */
    async delete(clientId: string): Promise<boolean> {
      return db.transaction().execute(async (tx) => {
        await tx.deleteFrom('auth_tokens').where('client_id', '=', clientId).execute()
        const result = await tx.deleteFrom('client_credentials').where('client_id', '=', clientId).executeTakeFirst()
        return Number(result.numDeletedRows) > 0
      })
    },

    async insertToken(token: TokenRow, now: number): Promise<void> {
      await db
        .insertInto('auth_tokens')
        .values({
          token_hash: token.tokenHash,
          kind: token.kind,
          client_id: token.clientId,
          expires_at: token.expiresAt,
          created_at: now,
        })
        .execute()
    },
    /** The token together with its credential; undefined when either is gone. */
    async findToken(tokenHash: string): Promise<(TokenRow & { roleIds: string[] }) | undefined> {
      // Every authenticated request runs this: compiled once (see createQueryCache), still read from the store each
      // time, so a deleted token or credential stops working at once.
      const [row] = await queries.rows('auth_tokens.find', [tokenHash], (v) =>
        db
          .selectFrom('auth_tokens')
          .innerJoin('client_credentials', 'client_credentials.client_id', 'auth_tokens.client_id')
          .select(['auth_tokens.token_hash', 'auth_tokens.kind', 'auth_tokens.client_id', 'auth_tokens.expires_at'])
          .select('client_credentials.role_ids')
          .where('auth_tokens.token_hash', '=', v[0] as string),
      )
      if (!row) return undefined
      return {
        tokenHash: row.token_hash,
        kind: row.kind,
        clientId: row.client_id,
        expiresAt: Number(row.expires_at),
        roleIds: JSON.parse(row.role_ids) as string[],
      }
    },
    /** Deletes a token; true only for the caller that actually deleted it (refresh-token rotation relies on this). */
    async deleteToken(tokenHash: string): Promise<boolean> {
      const result = await db.deleteFrom('auth_tokens').where('token_hash', '=', tokenHash).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
    async deleteExpiredTokens(now: number): Promise<void> {
      await db.deleteFrom('auth_tokens').where('expires_at', '<', now).execute()
    },
  }
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>
