/**
 * A token-bound client of the Sluice API that works the same for an in-process Sluice (`startTestSluice`) and a
 * child process (`startSluiceProcess`), so streaming tests and their helpers need not care which one runs.
 */
import type { ApiResponse, TestSluice } from './sluice.js'

export interface ApiClient {
  request<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>
}

/** An Admin client of an in-process Sluice. */
export function adminClient(t: TestSluice): ApiClient {
  return { request: (method, path, body) => t.request(method, path, { body, token: t.tokens.admin }) }
}

/** The longest an API call may take in a test: a hang then fails with the call's name, not as a bare test timeout. */
const REQUEST_TIMEOUT_MS = 60_000

/** Sends one request and parses a JSON answer (a body that is not JSON stays text). */
export async function sendRequest<T>(method: string, url: string, headers: Record<string, string>, body: string | undefined): Promise<ApiResponse<T>> {
  let res: Response
  let text: string
  try {
    res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    text = await res.text()
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new Error(`${method} ${new URL(url).pathname}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)
    throw error
  }
  let parsed: unknown = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {}
  return { status: res.status, body: parsed as T, headers: res.headers }
}

/** Gets an access token for a credential and returns a client that sends it. */
export async function connectApi(url: string, clientId: string, secret: string): Promise<ApiClient> {
  const send = <T>(method: string, path: string, body: unknown, token?: string): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = {}
    if (token) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    return sendRequest<T>(method, url + path, headers, body === undefined ? undefined : JSON.stringify(body))
  }
  const res = await send<{ accessToken: string }>('POST', '/auth/access-token', { client_id: clientId, secret })
  if (res.status !== 200) throw new Error(`token for ${clientId}: ${res.status} ${JSON.stringify(res.body)}`)
  const token = res.body.accessToken
  return { request: (method, path, body) => send(method, path, body, token) }
}
