/** The `httpsink` destination's configuration keys. Served by `GET /destinations/connectors?connector_code=httpsink`. */
import type { ConfigProperty, ConnectorSpec } from '../../connector-spec.js'

const p = (prop: ConfigProperty): ConfigProperty => prop

export const HTTPSINK_DESTINATION_SPEC: ConnectorSpec = {
  code: 'httpsink',
  displayName: 'HTTP Sink',
  kind: 'destination',
  properties: [
    p({ name: 'http.url', displayName: 'URL', description: 'Batches of change events are sent here as a JSON array.', type: 'string', required: true, aliases: ['http.url.user.defined'] }),
    p({ name: 'http.method', displayName: 'Method', description: 'HTTP method.', type: 'enum', values: ['POST', 'PUT'], required: false, default: 'POST' }),
    p({ name: 'http.headers', displayName: 'Headers', description: 'Extra request headers, `Name: value` pairs separated by commas.', type: 'string', required: false, aliases: ['http.headers.additional'] }),
    p({ name: 'http.signature.secret', displayName: 'Signing secret', description: 'When set, each request carries `X-Sluice-Signature: sha256=<HMAC-SHA256 of the body, hex>`.', type: 'password', required: false, secret: true }),
    p({ name: 'http.timeout.ms', displayName: 'Request timeout (ms)', description: 'A request without a response by then is retried.', type: 'int', required: false, default: 10_000, min: 100, max: 300_000 }),
    p({ name: 'retries.max', displayName: 'Retries', description: 'Retries of a batch after a 5xx, 429, timeout or network error; then its records go to the dead-letter topic.', type: 'int', required: false, default: 10, min: 0, max: 1000 }),
    p({ name: 'retry.backoff.ms', displayName: 'First retry delay (ms)', description: 'Doubles per retry (capped), or what Retry-After asks for.', type: 'int', required: false, default: 500, min: 1, max: 600_000 }),
    p({ name: 'retry.backoff.max.ms', displayName: 'Max retry delay (ms)', description: 'Cap of the exponential backoff.', type: 'int', required: false, default: 30_000, min: 1, max: 3_600_000 }),
    p({ name: 'batch.size', displayName: 'Batch size', description: 'Change events per request.', type: 'int', required: false, default: 100, min: 1, max: 10_000 }),
    p({ name: 'linger.ms', displayName: 'Linger (ms)', description: 'A request with fewer than batch.size events waits up to this long for more before it is sent.', type: 'int', required: false, default: 0, min: 0, max: 60_000 }),
  ],
  check(config) {
    const url = config['http.url']
    if (typeof url === 'string' && !/^https?:\/\/[^\s]+$/.test(url)) return [{ key: 'http.url', msg: 'must be an http:// or https:// URL' }]
    const headers = config['http.headers']
    if (typeof headers === 'string' && parseHeaders(headers) === undefined) {
      return [{ key: 'http.headers', msg: 'must be `Name: value` pairs separated by commas' }]
    }
    return []
  },
}

export function parseHeaders(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = part.indexOf(':')
    const name = part.slice(0, at).trim()
    if (at <= 0 || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return undefined
    out[name] = part.slice(at + 1).trim()
  }
  return out
}

export interface HttpsinkConfig {
  url: string
  method: 'POST' | 'PUT'
  headers: Record<string, string>
  secret: string | null
  timeoutMs: number
  retries: number
  backoff: { initialMs: number; maxMs: number }
  batchSize: number
  lingerMs: number
}

export function readConfig(config: Readonly<Record<string, unknown>>): HttpsinkConfig {
  return {
    url: String(config['http.url']),
    method: config['http.method'] === 'PUT' ? 'PUT' : 'POST',
    headers: parseHeaders(String(config['http.headers'] ?? '')) ?? {},
    secret: typeof config['http.signature.secret'] === 'string' && config['http.signature.secret'] ? config['http.signature.secret'] : null,
    timeoutMs: Number(config['http.timeout.ms'] ?? 10_000),
    retries: Number(config['retries.max'] ?? 10),
    backoff: { initialMs: Number(config['retry.backoff.ms'] ?? 500), maxMs: Number(config['retry.backoff.max.ms'] ?? 30_000) },
    batchSize: Number(config['batch.size'] ?? 100),
    lingerMs: Number(config['linger.ms'] ?? 0),
  }
}
