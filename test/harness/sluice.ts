/**
 * Starts a real Sluice (HTTP server on a free port, its own data directory) for API tests, with an Admin, a
 * Data Admin and a Read Only credential, and a small fetch-based client.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/config.js'
import { type Sluice, startSluice } from '../../src/main.js'
import { sendRequest } from './api-client.js'
import { testServerLogger } from './server-log.js'

export const ADMIN = { clientId: 'test-admin', secret: 'test-admin-secret' }

export interface ApiResponse<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface TestSluice {
  sluice: Sluice
  url: string
  dataDir: string
  tokens: { admin: string; dataAdmin: string; readOnly: string }
  request<T = any>(method: string, path: string, options?: { body?: unknown; token?: string | null; rawBody?: string; headers?: Record<string, string> }): Promise<ApiResponse<T>>
  stop(): Promise<void>
}

export interface StartTestSluiceOptions {
  metadataUrl?: string
  env?: Record<string, string>
}

export async function startTestSluice(options: StartTestSluiceOptions = {}): Promise<TestSluice> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-test-'))
  const config = loadConfig(
    { host: '127.0.0.1', port: 0, dataDir, metadataUrl: options.metadataUrl },
    { SLUICE_ADMIN_CLIENT_ID: ADMIN.clientId, SLUICE_ADMIN_SECRET: ADMIN.secret, SLUICE_SECRET_KEY: 'test-key', ...options.env },
  )
  const log = testServerLogger()
  const sluice = await startSluice(config, { logger: log.logger })

  async function request<T>(method: string, path: string, opts: { body?: unknown; token?: string | null; rawBody?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`
    let body: string | undefined
    if (opts.rawBody !== undefined) body = opts.rawBody
    else if (opts.body !== undefined) body = JSON.stringify(opts.body)
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json'
    return sendRequest<T>(method, sluice.url + path, headers, body)
  }

  async function tokenFor(clientId: string, secret: string): Promise<string> {
    const res = await request<{ accessToken: string }>('POST', '/auth/access-token', { body: { client_id: clientId, secret } })
    if (res.status !== 200) throw new Error(`token for ${clientId}: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body.accessToken
  }

  const admin = await tokenFor(ADMIN.clientId, ADMIN.secret)
  const makeRole = async (role: string) => {
    const res = await request<{ client_id: string; secret: string }>('POST', '/auth/client-credentials', { token: admin, body: { role_ids: [role] } })
    return tokenFor(res.body.client_id, res.body.secret)
  }
  const tokens = { admin, dataAdmin: await makeRole('data_admin'), readOnly: await makeRole('read_only') }

  return {
    sluice,
    url: sluice.url,
    dataDir,
    tokens,
    request,
    async stop() {
      await sluice.close()
      log.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
