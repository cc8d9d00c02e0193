/**
 * Browsing a topic's messages: one partition or all of them, oldest first (`asc`) or newest first (`desc`), from
 * an offset or a timestamp, with key/value filters, in pages joined by per-partition cursors (Streamkap's
 * `last_seen_offsets` for the next page going forward, `first_seen_offsets` going backward).
 *
 * Partitions are merged by timestamp (then partition, then offset), each partition in offset order. Cursors record
 * the records *scanned*, not only those returned, so a selective filter pages through the log instead of
 * rescanning it. A request scans at most MAX_SCANNED records; `hasMore` says whether to ask for the next page.
 */
import type { LogRecord, TopicLog } from '../../log/topic-log.js'
import type { MessageFilter } from './message-filter.js'

export type Direction = 'asc' | 'desc'

export interface BrowseRequest {
  /** One partition; all partitions when absent. */
  partition?: number
  /** asc: the first offset to show; desc: the last one. */
  offset?: number
  /** asc: from the first record at or after it; desc: from the last record at or before it (epoch ms). */
  timestamp?: number
  direction: Direction
  limit: number
  keyFilter?: MessageFilter
  valueFilter?: MessageFilter
  /** Per partition: the highest offset the previous page scanned (asc). */
  lastSeenOffsets?: Map<number, number>
  /** Per partition: the lowest offset the previous page scanned (desc). */
  firstSeenOffsets?: Map<number, number>
}

export interface BrowseResult {
  records: LogRecord[]
  lastSeenOffsets: Record<string, number>
  firstSeenOffsets: Record<string, number>
  hasMore: boolean
}

const MAX_SCANNED = 50_000
const CHUNK = 500

interface Cursor {
  partition: number
  /** asc: next offset to read; desc: exclusive upper bound of what is left. */
  position: number
  /** asc: the log end when the browse started; desc: the earliest stored offset. */
  bound: number
  buffer: LogRecord[]
}

export async function browseMessages(log: TopicLog, topic: string, partitions: number, req: BrowseRequest): Promise<BrowseResult> {
  const chosen = req.partition === undefined ? Array.from({ length: partitions }, (_, p) => p) : [req.partition]
  const cursors: Cursor[] = []
  for (const partition of chosen) cursors.push(await openCursor(log, topic, partition, req))

  const records: LogRecord[] = []
  const first = new Map<number, number>()
  const last = new Map<number, number>()
  let scanned = 0
  while (records.length < req.limit && scanned < MAX_SCANNED) {
    for (const c of cursors) if (c.buffer.length === 0) await refill(log, topic, c, req.direction)
    const next = pickNext(cursors, req.direction)
    if (!next) break
    const record = next.buffer.shift() as LogRecord
    scanned++
    if (!first.has(record.partition) || record.offset < (first.get(record.partition) as number)) first.set(record.partition, record.offset)
    if (!last.has(record.partition) || record.offset > (last.get(record.partition) as number)) last.set(record.partition, record.offset)
    if (req.keyFilter && !req.keyFilter(record.key)) continue
    if (req.valueFilter && !req.valueFilter(record.value)) continue
    records.push(record)
  }
  // Partitions this page did not reach keep the cursor the client sent, so passing the maps back never loses ground.
  for (const [p, o] of req.lastSeenOffsets ?? []) if (!last.has(p)) last.set(p, o)
  for (const [p, o] of req.firstSeenOffsets ?? []) if (!first.has(p)) first.set(p, o)
  let hasMore = false
  for (const c of cursors) {
    if (c.buffer.length === 0) await refill(log, topic, c, req.direction)
    if (c.buffer.length > 0) hasMore = true
  }
  return { records, lastSeenOffsets: toObject(last), firstSeenOffsets: toObject(first), hasMore }
}

async function openCursor(log: TopicLog, topic: string, partition: number, req: BrowseRequest): Promise<Cursor> {
  const { earliest, latest } = await log.offsets(topic, partition)
  if (req.direction === 'asc') {
    let position = earliest
    const seen = req.lastSeenOffsets?.get(partition)
    if (seen !== undefined) position = seen + 1
    else if (req.offset !== undefined) position = req.offset
    else if (req.timestamp !== undefined) position = (await log.offsetForTimestamp(topic, partition, req.timestamp)) ?? latest
    return { partition, position: Math.max(position, earliest), bound: latest, buffer: [] }
  }
  let end = latest
  const seen = req.firstSeenOffsets?.get(partition)
  if (seen !== undefined) end = seen
  else if (req.offset !== undefined) end = req.offset + 1
  else if (req.timestamp !== undefined) end = (await log.offsetForTimestamp(topic, partition, req.timestamp + 1)) ?? latest
  return { partition, position: Math.min(end, latest), bound: earliest, buffer: [] }
}

async function refill(log: TopicLog, topic: string, c: Cursor, direction: Direction): Promise<void> {
  if (direction === 'asc') {
    if (c.position >= c.bound) return
    const batch = await log.read(topic, c.partition, c.position, { maxRecords: CHUNK })
    const inRange = batch.filter((r) => r.offset < c.bound)
    c.buffer = inRange
    c.position = inRange.length > 0 ? inRange[inRange.length - 1].offset + 1 : c.bound
    return
  }
  // Backwards: read the window just below `position`; retention or compaction gaps may leave a window empty.
  while (c.buffer.length === 0 && c.position > c.bound) {
    const from = Math.max(c.bound, c.position - CHUNK)
    const batch = await log.read(topic, c.partition, from, { maxRecords: CHUNK })
    c.buffer = batch.filter((r) => r.offset < c.position).reverse()
    c.position = from
  }
}

function pickNext(cursors: Cursor[], direction: Direction): Cursor | undefined {
  let best: Cursor | undefined
  for (const c of cursors) {
    const head = c.buffer[0]
    if (!head) continue
    if (!best) {
      best = c
      continue
    }
    const other = best.buffer[0]
    const before = head.timestamp !== other.timestamp ? head.timestamp < other.timestamp : head.partition < other.partition
    if (direction === 'asc' ? before : !before) best = c
  }
  return best
}

function toObject(map: Map<number, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort((a, b) => a[0] - b[0]).map(([p, o]) => [String(p), o]))
}
