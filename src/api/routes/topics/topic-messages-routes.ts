/**
 * Reading a topic over HTTP: browsing messages in pages, and tailing it live as Server-Sent Events.
 *
 * SSE: each record is one `message` event whose `id` is the stream position after it, `<partition>:<next offset>`
 * for every partition (e.g. `0:42,1:17`). A client that reconnects with that id as `Last-Event-ID` (browsers do this
 * by themselves) continues exactly after the last event it saw, on every partition. A comment line is sent every
 * KEEPALIVE_MS while the topic is idle so proxies keep the connection open and a dead client is noticed.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import { InvalidInputError, NotFoundError } from '../../../core/errors.js'
import { parseMessageFilter } from '../../../core/topics/message-filter.js'
import type { TopicService } from '../../../core/topics/topic-service.js'
import { createRouter } from '../../app-env.js'
import { NOT_FOUND, STANDARD_ERRORS, jsonResponse } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'
import { Message, TopicIdParam, messageView } from './topics-schemas.js'

const TAG = ['Topics']
const SECURITY = [{ HTTPBearer: [] }]
const KEEPALIVE_MS = 15_000
const TAIL_BATCH = 500

/** `0:41,1:17` or `{"0":41,"1":17}` → partition → offset. */
export function parseOffsets(text: string, loc: Array<string | number>): Map<number, number> {
  const fail = () => InvalidInputError.of(loc, "expected '<partition>:<offset>,…' or a JSON object of partition to offset", text)
  const out = new Map<number, number>()
  let pairs: Array<[string, unknown]>
  if (text.trim().startsWith('{')) {
    try {
      pairs = Object.entries(JSON.parse(text) as Record<string, unknown>)
    } catch {
      throw fail()
    }
  } else {
    pairs = text.split(',').filter((s) => s.trim() !== '').map((s) => {
      const [p, o, ...rest] = s.split(':')
      if (rest.length > 0 || o === undefined) throw fail()
      return [p.trim(), o.trim()]
    })
  }
  for (const [p, o] of pairs) {
    const partition = Number(p)
    const offset = Number(o)
    if (!Number.isSafeInteger(partition) || partition < 0 || !Number.isSafeInteger(offset) || offset < 0 || String(o).trim() === '') throw fail()
    out.set(partition, offset)
  }
  return out
}

function encodeOffsets(positions: Map<number, number>): string {
  return [...positions.entries()].sort((a, b) => a[0] - b[0]).map(([p, o]) => `${p}:${o}`).join(',')
}

const BrowseQuery = z.object({
  partition: z.coerce.number().int().min(0).optional().openapi({ description: 'One partition (default: all)' }),
  offset: z.coerce.number().int().min(0).optional().openapi({ description: 'asc: the first offset shown; desc: the last one' }),
  timestamp: z.coerce.number().int().optional().openapi({ description: 'Epoch ms. asc: from the first record at or after it; desc: from the last record at or before it' }),
  sort_dir: z.enum(['asc', 'desc']).default('asc').openapi({ description: 'asc: oldest first; desc: newest first' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  key_filter: z.string().optional().openapi({ description: 'Substring of the key, or `$.json.path=<value>` for JSON equality' }),
  value_filter: z.string().optional().openapi({ description: 'Substring of the value, or `$.json.path=<value>` for JSON equality' }),
  last_seen_offsets: z.string().optional().openapi({ description: 'Cursor for the next page going forward (from the previous response)' }),
  first_seen_offsets: z.string().optional().openapi({ description: 'Cursor for the next page going backward (from the previous response)' }),
})

const BrowseResponse = z
  .object({
    result: z.array(Message),
    next_offset: z.number().int().nullable().openapi({ description: 'One partition, ascending: the offset to continue from' }),
    last_seen_offsets: z.record(z.string(), z.number().int()),
    first_seen_offsets: z.record(z.string(), z.number().int()),
    has_more: z.boolean(),
  })
  .openapi('TopicMessages')

export function createTopicMessagesRoutes(topics: TopicService) {
  const app = createRouter()
  const read = requirePermission('read:topics')

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/{topic_id}/messages', tags: TAG, summary: 'Browse topic messages', operationId: 'getTopicMessages',
      description: 'Pages of records, oldest or newest first, merged across partitions by timestamp. Values are shown as JSON when they are JSON. Pass `last_seen_offsets` (asc) or `first_seen_offsets` (desc) from a response to get the next page.',
      security: SECURITY, middleware: [read], request: { params: TopicIdParam, query: BrowseQuery },
      responses: { 200: jsonResponse(BrowseResponse), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { topic_id } = c.req.valid('param')
      const q = c.req.valid('query')
      const result = await topics.browse(topic_id, {
        partition: q.partition,
        offset: q.offset,
        timestamp: q.timestamp,
        direction: q.sort_dir,
        limit: q.limit,
        keyFilter: q.key_filter === undefined ? undefined : parseMessageFilter(q.key_filter, ['query', 'key_filter']),
        valueFilter: q.value_filter === undefined ? undefined : parseMessageFilter(q.value_filter, ['query', 'value_filter']),
        lastSeenOffsets: q.last_seen_offsets === undefined ? undefined : parseOffsets(q.last_seen_offsets, ['query', 'last_seen_offsets']),
        firstSeenOffsets: q.first_seen_offsets === undefined ? undefined : parseOffsets(q.first_seen_offsets, ['query', 'first_seen_offsets']),
      })
      const single = q.partition !== undefined && q.sort_dir === 'asc'
      const lastSeen = single ? result.lastSeenOffsets[String(q.partition)] : undefined
      const scanned = lastSeen !== undefined && (q.offset === undefined || lastSeen >= q.offset)
      return c.json({
        result: result.records.map(messageView),
        next_offset: single && scanned ? lastSeen + 1 : null,
        last_seen_offsets: result.lastSeenOffsets,
        first_seen_offsets: result.firstSeenOffsets,
        has_more: result.hasMore,
      }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/topics/{topic_id}/stream', tags: TAG, summary: 'Stream Topic Messages', operationId: 'streamTopicMessages',
      description: 'Sluice extension: tails the topic as Server-Sent Events (`event: message`, `data`: the message as JSON, `id`: the position after it). Reconnect with `Last-Event-ID` to resume without missing or repeating a record.',
      security: SECURITY, middleware: [read],
      request: {
        params: TopicIdParam,
        query: z.object({
          from: z.enum(['earliest', 'latest']).default('latest').openapi({ description: 'Where to start without Last-Event-ID' }),
          last_event_id: z.string().optional().openapi({ description: 'Same as the Last-Event-ID header, for clients that cannot set headers' }),
        }),
        headers: z.object({ 'last-event-id': z.string().optional() }),
      },
      responses: {
        200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
        ...STANDARD_ERRORS,
        ...NOT_FOUND,
      },
    }),
    async (c) => {
      const { topic_id } = c.req.valid('param')
      const q = c.req.valid('query')
      const resumeFrom = c.req.valid('header')['last-event-id'] ?? q.last_event_id
      const resume = resumeFrom === undefined ? new Map<number, number>() : parseOffsets(resumeFrom, ['header', 'last-event-id'])
      const positions = await topics.tailStart(topic_id, q.from, resume)
      return streamSSE(c, async (stream) => {
        const closed = new AbortController()
        stream.onAbort(() => closed.abort())
        const sent = new Map(positions)
        while (!closed.signal.aborted) {
          let records
          try {
            records = await topics.tail(topic_id, positions, TAIL_BATCH)
          } catch (err) {
            // The topic was deleted while it was being tailed: say so and end the stream.
            if (!(err instanceof NotFoundError)) throw err
            await stream.writeSSE({ event: 'error', data: JSON.stringify({ detail: `Topic not found: ${topic_id}` }) })
            return
          }
          for (const r of records) {
            sent.set(r.partition, r.offset + 1)
            await stream.writeSSE({ event: 'message', id: encodeOffsets(sent), data: JSON.stringify(messageView(r)) })
          }
          if (records.length > 0) continue
          const idle = new AbortController()
          const timer = setTimeout(() => idle.abort(), KEEPALIVE_MS)
          const stop = () => idle.abort()
          closed.signal.addEventListener('abort', stop, { once: true })
          await topics.waitForAppend(topic_id, idle.signal)
          clearTimeout(timer)
          closed.signal.removeEventListener('abort', stop)
          if (idle.signal.aborted && !closed.signal.aborted) await stream.write(': keepalive\n\n')
        }
      }) as never
    },
  )

  return app
}
