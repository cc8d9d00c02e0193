import { Writable } from 'node:stream'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { type Sluice, startSluice } from '../../src/main.js'

describe('request logging', () => {
  const lines: Array<Record<string, unknown>> = []
  let sluice: Sluice
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-log-'))
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line))
        done()
      },
    })
    sluice = await startSluice(loadConfig({ port: 0, dataDir: dir }, { SLUICE_ADMIN_CLIENT_ID: 'a', SLUICE_ADMIN_SECRET: 'aaaaaaaaaa' }), { logger: pino(sink) })
  })
  afterAll(async () => {
    await sluice.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('writes one structured line per request, with its id, status and duration, and never the secret', async () => {
    const res = await fetch(`${sluice.url}/auth/access-token`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' }, body: JSON.stringify({ client_id: 'a', secret: 'aaaaaaaaaa' }) })
    expect(res.status).toBe(200)
    await fetch(`${sluice.url}/sources`)
    const requests = lines.filter((l) => l.msg === 'request')
    expect(requests).toHaveLength(2)
    expect(requests[0]).toMatchObject({ req_id: 'req-42', method: 'POST', path: '/auth/access-token', status: 200 })
    expect(requests[0].ms).toEqual(expect.any(Number))
    expect(requests[1]).toMatchObject({ method: 'GET', path: '/sources', status: 401 })
    expect(JSON.stringify(lines)).not.toContain('aaaaaaaaaa')
  })
})
