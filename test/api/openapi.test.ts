import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestSluice, startTestSluice } from '../harness/sluice.js'

describe('OpenAPI document and docs page', () => {
  let t: TestSluice
  let doc: any

  beforeAll(async () => {
    t = await startTestSluice()
    doc = (await t.request('GET', '/openapi.json')).body
  })
  afterAll(async () => t?.stop())

  it('is valid OpenAPI 3.1, served without a token', async () => {
    expect(doc.openapi).toBe('3.1.0')
    const result = await new Validator().validate(doc)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('describes every route the server answers', async () => {
    const documented = new Set<string>()
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`)
    }
    const undocumented = t.sluice
      .routes()
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`)
      .filter((r) => !documented.has(r) && !/ \/(docs|healthz|openapi\.json)/.test(r))
    expect(undocumented).toEqual([])
    for (const route of ['GET /sources', 'POST /sources', 'GET /sources/{source_id}', 'PUT /sources/{source_id}', 'DELETE /sources/{source_id}', 'POST /sources/search', 'GET /sources/connectors', 'POST /auth/access-token', 'POST /auth/access-token/refresh', 'GET /auth/roles', 'GET /auth/client-credentials', 'POST /auth/client-credentials', 'DELETE /auth/client-credentials/{client_id}']) {
      expect(documented, route).toContain(route)
    }
    for (const op of documented) {
      const [method, path] = op.split(' ')
      const concrete = path.replace(/\{[^}]+\}/g, '0123456789abcdef01234567')
      const res = await t.request(method, concrete, { token: t.tokens.admin, body: method === 'GET' || method === 'DELETE' ? undefined : {} })
      expect(res.body, `${op} is documented but not served`).not.toEqual({ detail: 'Not Found' })
    }
  })

  it('gives every operation an id, a tag, and the shared error schemas', () => {
    const ids = new Set<string>()
    for (const ops of Object.values<Record<string, any>>(doc.paths)) {
      for (const op of Object.values<any>(ops)) {
        expect(op.operationId).toEqual(expect.any(String))
        expect(ids.has(op.operationId)).toBe(false)
        ids.add(op.operationId)
        expect(op.tags?.length).toBeGreaterThan(0)
        expect(op.responses['422']).toBeDefined()
      }
    }
    expect(doc.components.schemas.HTTPValidationError).toBeDefined()
    expect(doc.components.schemas.ValidationError.required).toEqual(expect.arrayContaining(['loc', 'msg', 'type']))
    expect(doc.components.securitySchemes.HTTPBearer).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.tags.map((tag: { name: string }) => tag.name)).toEqual(expect.arrayContaining(['Authentication', 'Sources', 'Topics']))
  })

  it('serves the docs page and its assets locally', async () => {
    const page = await fetch(`${t.url}/docs`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('/openapi.json')
    expect(html).not.toMatch(/https?:\/\//)
    for (const asset of ['/docs/assets/swagger-ui.css', '/docs/assets/swagger-ui-bundle.js']) {
      const res = await fetch(t.url + asset)
      expect(res.status, asset).toBe(200)
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000)
    }
    expect((await fetch(`${t.url}/docs/assets/package.json`)).status).toBe(404)
  })
})
