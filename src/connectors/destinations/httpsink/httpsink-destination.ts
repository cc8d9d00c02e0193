/**
 * The `httpsink` destination kind: each batch becomes one request whose body is a JSON array of
 * `{topic, partition, offset, key, value}` (value: the Debezium envelope, null for a tombstone), sent in log order, one
 * request at a time, so a receiver sees each key's changes in order (at least once: a retried request may have
 * arrived before its response was lost).
 *
 * A 5xx, 429, timeout or network error is retried with capped exponential backoff, waiting at least what a
 * Retry-After header asks; after the last retry the batch's records go to the dead-letter topic. Any other 4xx means
 * the content was rejected: a RecordError the runtime bisects to find the records the receiver refuses.
 */
import { createHmac } from 'node:crypto'
import { backoffDelay, sleep } from '../../../util/backoff.js'
import { type DestinationConnector, type DestinationRecord, type DestinationWriter, RecordError } from '../destination.js'
import { HTTPSINK_DESTINATION_SPEC, type HttpsinkConfig, readConfig } from './httpsink-config.js'

const MAX_RETRY_AFTER_MS = 600_000

/** Retry-After as milliseconds (delta-seconds or an HTTP date), or 0. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (!header) return 0
  if (/^\d+$/.test(header.trim())) return Math.min(Number(header) * 1000, MAX_RETRY_AFTER_MS)
  const at = Date.parse(header)
  return Number.isNaN(at) ? 0 : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS)
}

type Attempt = { ok: true } | { ok: false; retriable: boolean; reason: string; waitMs: number }

async function send(config: HttpsinkConfig, body: string, signal: AbortSignal): Promise<Attempt> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers }
  if (config.secret) headers['x-sluice-signature'] = `sha256=${createHmac('sha256', config.secret).update(body).digest('hex')}`
  try {
    const res = await fetch(config.url, {
      method: config.method,
      headers,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
    })
    await res.arrayBuffer().catch(() => undefined)
    if (res.ok) return { ok: true }
    const retriable = res.status >= 500 || res.status === 429 || res.status === 408
    return { ok: false, retriable, reason: `HTTP ${res.status} from ${config.url}`, waitMs: retryAfterMs(res.headers.get('retry-after')) }
  } catch (err) {
    if (signal.aborted) throw err
    return { ok: false, retriable: true, reason: `${(err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message} sending to ${config.url}`, waitMs: 0 }
  }
}

export const httpsinkDestination: DestinationConnector = {
  code: 'httpsink',
  spec: HTTPSINK_DESTINATION_SPEC,
  batchSize: (config) => readConfig(config).batchSize,
  lingerMs: (config) => readConfig(config).lingerMs,

  async open({ config: raw, logger }): Promise<DestinationWriter> {
    const config = readConfig(raw)
    return {
      async write(records: readonly DestinationRecord[], signal: AbortSignal) {
        if (records.length === 0) return
        const body = JSON.stringify(records.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.value })))
        for (let attempt = 0; ; attempt++) {
          const result = await send(config, body, signal)
          if (result.ok) return
          if (!result.retriable) throw new RecordError(result.reason)
          if (attempt >= config.retries) throw new RecordError(`${result.reason}; gave up after ${config.retries} retries`, { isolate: false })
          const waitMs = Math.max(backoffDelay(attempt, config.backoff), result.waitMs)
          logger.warn({ attempt, wait_ms: waitMs, reason: result.reason }, 'http sink request failed; retrying')
          await sleep(waitMs, signal)
          if (signal.aborted) throw new Error('stopped')
        }
      },
      close: async () => undefined,
    }
  },
}
