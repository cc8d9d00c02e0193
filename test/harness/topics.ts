/**
 * Helpers for topic and consumer-group API tests: create a manual topic through the API, append JSON records
 * straight to the in-process log, and read a topic's SSE stream.
 */
import type { AppendRecord } from '../../src/log/topic-log.js'
import type { TestSluice } from './sluice.js'

export async function createTopic(t: TestSluice, name: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await t.request('POST', '/topics', { token: t.tokens.admin, body: { topic_name: name, ...body } })
  if (res.status !== 200) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(res.body)}`)
}

export interface JsonRecord {
  key?: unknown
  value: unknown
  partition?: number
  timestamp?: number
}

/** Appends JSON-encoded records (in one durable append) and returns their positions. */
export async function appendJson(t: TestSluice, topic: string, records: JsonRecord[]) {
  const batch: AppendRecord[] = records.map((r) => ({
    topic,
    key: r.key === undefined ? null : Buffer.from(JSON.stringify(r.key)),
    value: r.value === null ? null : Buffer.from(JSON.stringify(r.value)),
    partition: r.partition,
    timestamp: r.timestamp,
  }))
  return t.sluice.log.append(batch)
}

export interface SseEvent {
  id?: string
  event?: string
  data: string
}

/**
 * Opens `GET path` as an event stream and collects events until `enough(events)` holds, then closes it. Fails
 * after `timeoutMs` with the events seen so far.
 */
export async function readSse(
  t: TestSluice,
  path: string,
  enough: (events: SseEvent[]) => boolean,
  options: { lastEventId?: string; timeoutMs?: number; onOpen?: () => void } = {},
): Promise<SseEvent[]> {
  const controller = new AbortController()
  const headers: Record<string, string> = { authorization: `Bearer ${t.tokens.admin}`, accept: 'text/event-stream' }
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000)
  const events: SseEvent[] = []
  try {
    const res = await fetch(t.url + path, { headers, signal: controller.signal })
    if (res.status !== 200 || !res.body) throw new Error(`stream ${path}: ${res.status} ${await res.text()}`)
    // The server fixes its start position before it answers, so anything appended from now on is streamed.
    options.onOpen?.()
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event: SseEvent = { data: '' }
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue
          const at = line.indexOf(':')
          const field = line.slice(0, at)
          const value = line.slice(at + 1).replace(/^ /, '')
          if (field === 'data') event.data += value
          else if (field === 'id') event.id = value
          else if (field === 'event') event.event = value
        }
        if (block.split('\n').every((l) => l.startsWith(':'))) continue
        events.push(event)
        if (enough(events)) return events
      }
    }
    throw new Error(`stream ${path} ended after ${events.length} events`)
  } catch (err) {
    if (controller.signal.aborted && !enough(events)) throw new Error(`stream ${path}: timed out after ${events.length} events`)
    throw err
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}
