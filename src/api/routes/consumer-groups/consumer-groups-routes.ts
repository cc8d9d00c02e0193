/**
 * The Consumer Groups tag: list, describe, reset offsets, delete (Streamkap), and consuming over HTTP as a group
 * member (Sluice extension): fetch (long poll), commit, leave.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { ConsumerService } from '../../../core/consumers/consumer-service.js'
import type { LogRecord } from '../../../log/topic-log.js'
import { createRouter } from '../../app-env.js'
import { CONFLICT, NOT_FOUND, PageQuery, STANDARD_ERRORS, jsonBody, jsonResponse, listEnvelope, page } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'
import { writeMessageJson } from '../topics/topics-schemas.js'
import { ByteWriter } from '../../../util/byte-writer.js'
import { CommitBody, FetchBody, FetchResponse, GroupIdParam, GroupSchema, LeaveBody, ResetBody, ResetResponse, groupView } from './consumer-groups-schemas.js'

const TAG = ['Consumer Groups']
const COMMA = Buffer.from(',')
const SECURITY = [{ HTTPBearer: [] }]

/** The offset after the last record of each partition in a fetch: what a client commits once it is done. */
function nextOffsets(records: LogRecord[]) {
  const next = new Map<string, { topic: string; partition: number; offset: number }>()
  // A fetch returns each partition's records as one run, so only the last record of a run matters.
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    const following = records[i + 1]
    if (following && following.partition === r.partition && following.topic === r.topic) continue
    next.set(`${r.partition}:${r.topic}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
  }
  return [...next.values()]
}

export function createConsumerGroupsRoutes(consumers: ConsumerService) {
  const app = createRouter()
  const read = requirePermission('read:consumer_groups')
  const write = requirePermission('write:consumer_groups')
  // Consuming reads topics and moves the group's offsets.
  const consume = [requirePermission('read:topics'), write]

  app.openapi(
    createRoute({
      method: 'get', path: '/consumer-groups', tags: TAG, summary: 'List Consumer Groups', operationId: 'listConsumerGroups', security: SECURITY,
      middleware: [read], request: { query: z.object({ page: PageQuery.page, page_size: PageQuery.page_size }) },
      responses: { 200: jsonResponse(listEnvelope(GroupSchema, 'ConsumerGroupList')), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const all = await consumers.list()
      const start = (q.page - 1) * q.page_size
      return c.json(page(all.slice(start, start + q.page_size).map(groupView), q.page, q.page_size, all.length), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get', path: '/consumer-groups/{group_id}', tags: TAG, summary: 'Describe Consumer Group', operationId: 'getConsumerGroup', security: SECURITY,
      middleware: [read], request: { params: GroupIdParam },
      responses: { 200: jsonResponse(GroupSchema), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => c.json(groupView(await consumers.get(c.req.valid('param').group_id)), 200),
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/consumer-groups/{group_id}/reset-offsets', tags: TAG, summary: 'Reset Consumer Group Offsets', operationId: 'resetConsumerGroupOffsets',
      description: 'Refused (409) while the group has active members, as Kafka refuses it.',
      security: SECURITY, middleware: [write], request: { params: GroupIdParam, body: jsonBody(ResetBody) },
      responses: { 200: jsonResponse(ResetResponse), ...STANDARD_ERRORS, ...CONFLICT },
    }),
    async (c) => {
      const { group_id } = c.req.valid('param')
      const offsets = await consumers.resetOffsets(group_id, c.req.valid('json'))
      return c.json({ group_id, offsets }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete', path: '/consumer-groups/{group_id}', tags: TAG, summary: 'Delete Consumer Group', operationId: 'deleteConsumerGroup', security: SECURITY,
      description: 'Deletes the committed offsets. Refused (409) while the group has active members.',
      middleware: [write], request: { params: GroupIdParam },
      responses: { 200: jsonResponse(z.object({ group_id: z.string(), deleted: z.boolean() })), ...STANDARD_ERRORS, ...NOT_FOUND, ...CONFLICT },
    }),
    async (c) => {
      const { group_id } = c.req.valid('param')
      await consumers.delete(group_id)
      return c.json({ group_id, deleted: true }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/consumer-groups/{group_id}/fetch', tags: TAG, summary: 'Fetch Records', operationId: 'fetchConsumerGroupRecords',
      description: 'Sluice extension. Joins the group (or keeps `member_id` in it) and long-polls for records of the partitions assigned to the member. Records not committed within the visibility timeout are handed out again; members never hold the same uncommitted record at once.',
      security: SECURITY, middleware: consume, request: { params: GroupIdParam, body: jsonBody(FetchBody) },
      responses: { 200: jsonResponse(FetchResponse), ...STANDARD_ERRORS },
    }),
    async (c) => {
      const { group_id } = c.req.valid('param')
      const body = c.req.valid('json')
      const result = await consumers.fetch(group_id, {
        memberId: body.member_id,
        topics: body.topics,
        maxRecords: body.max_records,
        maxWaitMs: body.max_wait_ms,
        visibilityTimeoutMs: body.visibility_timeout_ms,
        sessionTimeoutMs: body.session_timeout_ms,
        signal: c.req.raw.signal,
      })
      // Built as bytes: a fetch can carry thousands of records, and their JSON values are copied as stored.
      const out = new ByteWriter(64 * 1024)
      out.utf8(`{"member_id":${JSON.stringify(result.memberId)},"records":[`)
      result.records.forEach((record, i) => {
        if (i > 0) out.range(COMMA)
        writeMessageJson(record, out)
      })
      out.utf8(`],"assignments":${JSON.stringify(result.assignments)},"next_offsets":${JSON.stringify(nextOffsets(result.records))}}`)
      const json = new Uint8Array(out.bytes.buffer as ArrayBuffer, out.bytes.byteOffset, out.length)
      return c.body(json, 200, { 'content-type': 'application/json' }) as never
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/consumer-groups/{group_id}/commit', tags: TAG, summary: 'Commit Offsets', operationId: 'commitConsumerGroupOffsets',
      description: 'Sluice extension. Commits the next offset to read per partition. A member may commit only partitions it holds (409 otherwise, e.g. after its records were handed to another member).',
      security: SECURITY, middleware: consume, request: { params: GroupIdParam, body: jsonBody(CommitBody) },
      responses: { 200: jsonResponse(z.object({ group_id: z.string(), committed: z.array(z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() })) })), ...STANDARD_ERRORS, ...CONFLICT },
    }),
    async (c) => {
      const { group_id } = c.req.valid('param')
      const body = c.req.valid('json')
      await consumers.commit(group_id, { memberId: body.member_id ?? null, offsets: body.offsets })
      return c.json({ group_id, committed: body.offsets }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post', path: '/consumer-groups/{group_id}/leave', tags: TAG, summary: 'Leave Consumer Group', operationId: 'leaveConsumerGroup',
      description: 'Sluice extension. The member leaves at once; its uncommitted records go back to the group.',
      security: SECURITY, middleware: consume, request: { params: GroupIdParam, body: jsonBody(LeaveBody) },
      responses: { 200: jsonResponse(z.object({ group_id: z.string(), member_id: z.string() })), ...STANDARD_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { group_id } = c.req.valid('param')
      const { member_id } = c.req.valid('json')
      await consumers.leave(group_id, member_id)
      return c.json({ group_id, member_id }, 200)
    },
  )

  return app
}
