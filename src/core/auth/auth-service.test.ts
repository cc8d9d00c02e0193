import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCredentialRepository } from '../../store/credential-repository.js'
import { type MetadataDb, openMetadataDb } from '../../store/db.js'
import { UnauthorizedError } from '../errors.js'
import { createAuthService } from './auth-service.js'

describe('auth service token lifetimes', () => {
  let dir: string
  let metadata: MetadataDb
  let clock = 1_000_000

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-auth-'))
    metadata = await openMetadataDb({ dataDir: dir })
    clock = 1_000_000
  })
  afterEach(async () => {
    await metadata.close()
    await rm(dir, { recursive: true, force: true })
  })

  function service() {
    return createAuthService(createCredentialRepository(metadata.db), { accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 600, now: () => clock })
  }

  it('expires access tokens after their TTL, and refresh tokens after theirs', async () => {
    const auth = service()
    const cred = await auth.createCredential({ roleIds: ['admin'] })
    const pair = await auth.issueTokens(cred.clientId, cred.secret)
    expect(pair.expires).toBe(new Date(1_000_000 + 60_000).toISOString())
    await expect(auth.authenticate(pair.accessToken)).resolves.toMatchObject({ clientId: cred.clientId })
    clock += 60_000
    await expect(auth.authenticate(pair.accessToken)).rejects.toThrow(UnauthorizedError)
    const refreshed = await auth.refresh(pair.refreshToken)
    await expect(auth.authenticate(refreshed.accessToken)).resolves.toBeTruthy()
    clock += 600_000
    await expect(auth.refresh(refreshed.refreshToken)).rejects.toThrow(UnauthorizedError)
  })

  it('stores only hashes of secrets and tokens', async () => {
    const auth = service()
    const cred = await auth.createCredential({ roleIds: ['read_only'] })
    const pair = await auth.issueTokens(cred.clientId, cred.secret)
    const row = await metadata.db.selectFrom('client_credentials').selectAll().executeTakeFirstOrThrow()
    expect(row.secret_hash).toMatch(/^scrypt\$/)
    expect(row.secret_hash).not.toContain(cred.secret)
    const tokens = await metadata.db.selectFrom('auth_tokens').select('token_hash').execute()
    expect(tokens.map((t) => t.token_hash)).not.toContain(pair.accessToken)
  })

  it('ensureCredential creates, then updates a changed secret', async () => {
    const auth = service()
    await auth.ensureCredential('boot', 'first-secret', ['admin'])
    await expect(auth.issueTokens('boot', 'first-secret')).resolves.toBeTruthy()
    await auth.ensureCredential('boot', 'second-secret', ['admin'])
    await expect(auth.issueTokens('boot', 'first-secret')).rejects.toThrow(UnauthorizedError)
    await expect(auth.issueTokens('boot', 'second-secret')).resolves.toBeTruthy()
    expect(await auth.countCredentials()).toBe(1)
  })
})
