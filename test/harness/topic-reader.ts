/**
 * Reads a source's topic back through the API (`GET /topics/{topic}/messages`, page by page) and rebuilds the
 * captured table from it, the correctness check DESIGN.md puts above all others: apply c/r/u as upserts and d as
 * removals, in offset order, by key. Replayed duplicates after a crash re-apply a suffix of the same sequence, so
 * they do not change the rebuilt state.
 */
import type { ApiClient } from './api-client.js'
import { waitFor } from './wait-for.js'

export interface TopicRecord {
  offset: number
  key: any
  /** A Debezium envelope, or null for a tombstone. */
  value: any
}

/**
 * Every record of partition 0 (sources write one partition by default) from `fromOffset`, oldest first; [] if the
 * topic is absent.
 */
export async function readTopic(api: ApiClient, topic: string, fromOffset = 0): Promise<TopicRecord[]> {
  const out: TopicRecord[] = []
  let offset = fromOffset
  for (;;) {
    const path = `/topics/${encodeURIComponent(topic)}/messages?partition=0&offset=${offset}&limit=1000`
    const res = await api.request('GET', path)
    if (res.status === 404) return out
    if (res.status !== 200) throw new Error(`read ${topic}: ${res.status} ${JSON.stringify(res.body)}`)
    const page = res.body.result as TopicRecord[]
    if (page.length === 0) return out
    for (const r of page) out.push({ offset: r.offset, key: r.key, value: r.value })
    offset = res.body.next_offset
  }
}

/** The offset the next record of partition 0 will get (0 when the topic does not exist yet). */
export async function latestOffset(api: ApiClient, topic: string): Promise<number> {
  const res = await api.request('GET', `/topics/${encodeURIComponent(topic)}`)
  if (res.status === 404) return 0
  if (res.status !== 200) throw new Error(`topic ${topic}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.partitions[0].latest_offset as number
}

/** Waits until at least `count` records exist from `fromOffset` and returns them (all of them, if more). */
export function waitForRecords(
  api: ApiClient,
  topic: string,
  fromOffset: number,
  count: number,
  timeoutMs = 60_000,
): Promise<TopicRecord[]> {
  return waitFor(() => readTopic(api, topic, fromOffset), (r) => r.length >= count, {
    timeoutMs,
    intervalMs: 100,
    message: `${count} records in ${topic} from offset ${fromOffset}`,
  })
}

/** Change events only (tombstones dropped). */
export function changeEvents(records: TopicRecord[]): any[] {
  return records.filter((r) => r.value !== null).map((r) => r.value)
}

/**
 * Rebuilds a table from its change events, keyed by `keyColumn`; returns the rows sorted by key. A truncate empties
 * the table.
 */
export function rebuildTable(records: TopicRecord[], keyColumn = 'id'): Array<Record<string, unknown>> {
  const rows = new Map<unknown, Record<string, unknown>>()
  for (const { value } of records) {
    if (value === null) continue
    switch (value.op) {
      case 'c':
      case 'r':
      case 'u':
        rows.set(value.after[keyColumn], value.after)
        break
      case 'd':
        rows.delete(value.before[keyColumn])
        break
      case 't':
        rows.clear()
        break
      default:
        throw new Error(`unexpected op ${JSON.stringify(value.op)} at offset of ${JSON.stringify(value.source)}`)
    }
  }
  return [...rows.values()].sort((a, b) => Number(a[keyColumn]) - Number(b[keyColumn]))
}
