import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataBackends } from '../harness/metadata-backends.js'
import { ADMIN, type TestSluice, startTestSluice } from '../harness/sluice.js'

for (const backend of metadataBackends()) {
  describe(`authentication (${backend.name} metadata)`, () => {
    let t: TestSluice

    beforeAll(async () => {
      t = await startTestSluice({ metadataUrl: await backend.setup() })
    })
    afterAll(async () => {
      await t?.stop()
      await backend.teardown()
    })

    it('issues a token pair for valid client credentials', async () => {
      const res = await t.request('POST', '/auth/access-token', { body: { client_id: ADMIN.clientId, secret: ADMIN.secret } })
      expect(res.status).toBe(200)
      expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expires', 'expiresIn', 'refreshToken'])
      expect(res.body.expiresIn).toBe(3600)
      expect(Date.parse(res.body.expires)).toBeGreaterThan(Date.now())
      const me = await t.request('GET', '/auth/roles', { token: res.body.accessToken })
      expect(me.status).toBe(200)
    })

    it('refuses a wrong secret and an unknown client alike, with 401 and WWW-Authenticate', async () => {
      for (const body of [{ client_id: ADMIN.clientId, secret: 'wrong' }, { client_id: 'nobody', secret: 'x' }]) {
        const res = await t.request('POST', '/auth/access-token', { body })
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
        expect(res.body).toEqual({ detail: 'Invalid client credentials' })
      }
    })

    it('answers a missing field with a FastAPI-style 422', async () => {
      const res = await t.request('POST', '/auth/access-token', { body: { client_id: 'x' } })
      expect(res.status).toBe(422)
      expect(res.body).toEqual({ detail: [{ type: 'missing', loc: ['body', 'secret'], msg: 'Field required', input: { client_id: 'x' } }] })
    })

    it('answers malformed JSON with 422 json_invalid', async () => {
      const res = await t.request('POST', '/auth/access-token', { rawBody: '{"client_id": ' })
      expect(res.status).toBe(422)
      expect(res.body.detail[0].type).toBe('json_invalid')
      expect(res.body.detail[0].loc[0]).toBe('body')
    })

    it('requires a bearer token on protected routes', async () => {
      for (const token of [null, 'not-a-token']) {
        const res = await t.request('GET', '/sources', { token })
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
        expect(typeof res.body.detail).toBe('string')
      }
      const malformed = await fetch(`${t.url}/sources`, { headers: { authorization: 'Basic abc' } })
      expect(malformed.status).toBe(401)
    })

    it('rotates refresh tokens: a used refresh token is refused', async () => {
      const first = await t.request('POST', '/auth/access-token', { body: { client_id: ADMIN.clientId, secret: ADMIN.secret } })
      const refreshed = await t.request('POST', '/auth/access-token/refresh', { body: { refresh_token: first.body.refreshToken } })
      expect(refreshed.status).toBe(200)
      expect(refreshed.body.refreshToken).not.toBe(first.body.refreshToken)
      expect((await t.request('GET', '/auth/roles', { token: refreshed.body.accessToken })).status).toBe(200)
      const reused = await t.request('POST', '/auth/access-token/refresh', { body: { refresh_token: first.body.refreshToken } })
      expect(reused.status).toBe(401)
      const second = await t.request('POST', '/auth/access-token/refresh', { body: { refresh_token: refreshed.body.refreshToken } })
      expect(second.status).toBe(200)
    })

    it('does not accept an access token as a refresh token, nor the reverse', async () => {
      const pair = await t.request('POST', '/auth/access-token', { body: { client_id: ADMIN.clientId, secret: ADMIN.secret } })
      expect((await t.request('POST', '/auth/access-token/refresh', { body: { refresh_token: pair.body.accessToken } })).status).toBe(401)
      expect((await t.request('GET', '/sources', { token: pair.body.refreshToken })).status).toBe(401)
    })

    it('lists the three roles with their permissions', async () => {
      const res = await t.request('GET', '/auth/roles', { token: t.tokens.readOnly })
      expect(res.status).toBe(200)
      expect(res.body.map((r: { name: string }) => r.name)).toEqual(['Admin', 'Data Admin', 'Read Only'])
      const readOnly = res.body.find((r: { key: string }) => r.key === 'read_only')
      expect(readOnly.permissions.every((p: string) => p.startsWith('read:'))).toBe(true)
      expect(readOnly.permissions).not.toContain('read:secrets')
    })

    it('shows a credential secret only on create, and revokes tokens when the credential is deleted', async () => {
      const created = await t.request('POST', '/auth/client-credentials', { token: t.tokens.admin, body: { role_ids: ['Read Only'], description: 'ci' } })
      expect(created.status).toBe(200)
      expect(created.body.secret).toEqual(expect.any(String))
      expect(created.body.roles.map((r: { name: string }) => r.name)).toEqual(['Read Only'])
      const list = await t.request('GET', '/auth/client-credentials', { token: t.tokens.admin })
      const listed = list.body.find((c: { client_id: string }) => c.client_id === created.body.client_id)
      expect(listed.description).toBe('ci')
      expect(listed).not.toHaveProperty('secret')

      const pair = await t.request('POST', '/auth/access-token', { body: { client_id: created.body.client_id, secret: created.body.secret } })
      expect((await t.request('GET', '/sources', { token: pair.body.accessToken })).status).toBe(200)
      const deleted = await t.request('DELETE', `/auth/client-credentials/${created.body.client_id}`, { token: t.tokens.admin })
      expect(deleted.status).toBe(200)
      expect((await t.request('GET', '/sources', { token: pair.body.accessToken })).status).toBe(401)
      expect((await t.request('POST', '/auth/access-token/refresh', { body: { refresh_token: pair.body.refreshToken } })).status).toBe(401)
      const again = await t.request('DELETE', `/auth/client-credentials/${created.body.client_id}`, { token: t.tokens.admin })
      expect(again.status).toBe(404)
    })

    it('validates credential creation', async () => {
      const unknown = await t.request('POST', '/auth/client-credentials', { token: t.tokens.admin, body: { role_ids: ['admin', 'wizard'] } })
      expect(unknown.status).toBe(422)
      expect(unknown.body.detail[0]).toMatchObject({ loc: ['body', 'role_ids', 1], input: 'wizard' })
      const empty = await t.request('POST', '/auth/client-credentials', { token: t.tokens.admin, body: { role_ids: [] } })
      expect(empty.status).toBe(422)
      expect(empty.body.detail[0]).toMatchObject({ type: 'too_short', loc: ['body', 'role_ids'] })
      const before = await t.request('GET', '/auth/client-credentials', { token: t.tokens.admin })
      expect(before.body.length).toBe(3)
    })

    it('keeps credential management to Admins (403 for other roles)', async () => {
      for (const token of [t.tokens.dataAdmin, t.tokens.readOnly]) {
        expect((await t.request('GET', '/auth/client-credentials', { token })).status).toBe(403)
        const res = await t.request('POST', '/auth/client-credentials', { token, body: { role_ids: ['admin'] } })
        expect(res.status).toBe(403)
        expect(typeof res.body.detail).toBe('string')
      }
    })

    it('puts X-Request-Id on every response and echoes a sane one', async () => {
      const own = await t.request('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } })
      expect(own.headers.get('x-request-id')).toBe('abc-123')
      for (const res of [await t.request('GET', '/sources'), await t.request('GET', '/nope', { token: t.tokens.admin })]) {
        expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      }
      const unknown = await t.request('GET', '/nope', { token: t.tokens.admin })
      expect(unknown.status).toBe(404)
      expect(unknown.body).toEqual({ detail: 'Not Found' })
    })
  })
}
