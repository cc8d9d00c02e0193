/**
 * One pipeline's delivery loop: reads the pipeline's topics from its consumer group's committed offsets, hands
 * batches to the destination writer, and commits the offsets only after the writer resolved (at-least-once: a crash
 * between the two redelivers a batch the idempotent writer absorbs). Idle, it long-polls the log (`waitForAppend`,
 * and `waitForTopicChange` so a new table's topic is read from its first record); busy, it re-lists the source's
 * topics every few seconds. Backpressure: at most two batches are in memory — the one being applied and the next,
 * read and decoded meanwhile, each of at most `batchSize` records and POLL_MAX_BYTES; a small batch may linger for
 * more records when the destination asks for it (`lingerMs`).
 *
 * A batch the destination rejects for its content (RecordError) is bisected until the poisoned records are found;
 * those go to the destination's dead-letter topic with the error in Kafka Connect's `__connect.errors.*` headers and
 * delivery goes on. Any other error ends the loop; the task retries it with backoff from the committed offsets.
 */
import { RecordDecoder } from '../connectors/destinations/decode-record.js'
import { type DestinationRecord, type DestinationWriter, RecordError, deadLetterTopic, sourceOf } from '../connectors/destinations/destination.js'
import type { TaskLogger } from '../connectors/source.js'
import { PackedView } from '../log/record-batch.js'
import type { AppendRecord, LogRecord, TopicLog } from '../log/topic-log.js'

export interface DeliveryMetrics {
  /** Source commit → destination apply of the newest record of the last batch, in ms. */
  latencyMs: number | null
  recordsApplied: number
  recordsDeadLettered: number
  lastAppliedAtMs: number | null
}

export function newDeliveryMetrics(): DeliveryMetrics {
  return { latencyMs: null, recordsApplied: 0, recordsDeadLettered: 0, lastAppliedAtMs: null }
}

export interface DeliveryOptions {
  pipelineId: string
  destinationId: string
  group: string
  log: TopicLog
  writer: DestinationWriter
  batchSize: number
  /** When a poll finds fewer than `batchSize` records, wait up to this long for more before writing (0: never). */
  lingerMs?: number
  /** The pipeline's topics, by name: listed again every `topicRefreshMs` while busy, and on a topic change. */
  topics(): Promise<string[]>
  topicRefreshMs?: number
  metrics: DeliveryMetrics
  logger: TaskLogger
  signal: AbortSignal
  /** Called once the first poll succeeded: the writer is open and the log readable. */
  onRunning(): void
}

const TOPIC_REFRESH_MS = 2_000
/** A batch is cut at this many bytes of keys and values, however many records `batchSize` allows. */
const POLL_MAX_BYTES = 16 * 1024 * 1024

interface Failure {
  raw: LogRecord
  error: Error
}


const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

export async function runDelivery(o: DeliveryOptions): Promise<void> {
  let positions = new Map<string, number>()
  for (const c of await o.log.committedOffsets(o.group)) positions.set(key(c.topic, c.partition), c.offset)
  await o.log.createTopic(deadLetterTopic(o.destinationId))
  let running = false
  let topics: string[] = []
  let topicsAt = 0
  let rotation = 0
  const decoder = new RecordDecoder()
  // Running once the destination took a batch (or there is nothing to deliver): not merely once it was opened.
  const markRunning = () => {
    if (running) return
    running = true
    o.onRunning()
  }
  /**
   * Starts the next poll. It is awaited on the next turn of the loop; if the loop ends first (a stop), nobody awaits
   * it, and its failure (the log closing under it) must not surface as an unhandled rejection.
   */
  const nextPoll = (from: Map<string, number>): Promise<Polled> => {
    const polled = (async () => {
      if (Date.now() - topicsAt >= (o.topicRefreshMs ?? TOPIC_REFRESH_MS)) {
        topics = await o.topics()
        topicsAt = Date.now()
      }
      return poll(o, decoder, topics, from, rotation++)
    })()
    polled.catch(() => undefined)
    return polled
  }

  /** Kafka's linger: a small batch waits (up to `lingerMs`) for more records, so a trickle is sent in fewer writes. */
  const linger = async (polled: Polled): Promise<Polled> => {
    const deadline = Date.now() + (o.lingerMs ?? 0)
    while (polled.count < o.batchSize && Date.now() < deadline && !o.signal.aborted) {
      await waitForAppends(o, topics, deadline - Date.now(), null)
      polled = await poll(o, decoder, topics, positions, rotation - 1)
    }
    return polled
  }

  let polling = nextPoll(positions)
  // A batch's offsets are committed while the next batch is applied; commits stay in order, and one that failed
  // ends the loop when the next is due (at-least-once either way: a lost commit only redelivers).
  let committing: Promise<void> = Promise.resolve()
  try {
    while (!o.signal.aborted) {
      let polled = await polling
      if (polled.count > 0 && polled.count < o.batchSize && (o.lingerMs ?? 0) > 0) polled = await linger(polled)
      if (polled.count === 0) {
        await committing
        markRunning()
        await waitForData(o, topics, positions)
        topicsAt = 0 // the wake may have been a new topic: list them again
        polling = nextPoll(positions)
        continue
      }
      // Read and decode the next batch while the destination applies this one.
      const ahead = new Map(positions)
      for (const [k, offset] of polled.consumed) ahead.set(k, offset)
      polling = nextPoll(ahead)
      await deliver(o, polled)
      await committing
      committing = o.log.commitOffsets(o.group, [...polled.consumed].map(([k, offset]) => {
        const [topic, partition] = k.split('\u0000')
        return { topic, partition: Number(partition), offset }
      }))
      positions = ahead
      markRunning()
    }
    await committing
  } finally {
    // Ended by an error: the last commit still lands before the task starts over from the committed offsets.
    await committing.catch(() => undefined)
  }
}

/**
 * Decoded records and, by index, where they came from: the packed read and the position in it (parallel arrays, no
 * object per record; the log record is built only for a record that is dead-lettered).
 */
interface Items {
  decoded: DestinationRecord[]
  views: PackedView[]
  indexes: number[]
}

interface Polled {
  items: Items
  /** Records that are not Debezium change events: dead-lettered as they are. */
  undecodable: Failure[]
  count: number
  /** Bytes of the records' keys and values. */
  bytes: number
  consumed: Map<string, number>
}

async function partitionsOf(log: TopicLog, topic: string): Promise<number> {
  return (await log.getTopic(topic))?.partitions ?? 0
}

/** Up to `batchSize` records from the topics, starting at a rotating topic so a busy one cannot starve the rest. */
async function poll(o: DeliveryOptions, decoder: RecordDecoder, topics: string[], positions: Map<string, number>, rotation: number): Promise<Polled> {
  const polled: Polled = { items: { decoded: [], views: [], indexes: [] }, undecodable: [], count: 0, bytes: 0, consumed: new Map() }
  for (let i = 0; i < topics.length && polled.count < o.batchSize; i++) {
    const topic = topics[(i + rotation) % topics.length]
    const partitions = await partitionsOf(o.log, topic)
    for (let p = 0; p < partitions && polled.count < o.batchSize; p++) {
      let from = positions.get(key(topic, p)) ?? 0
      // Read until the batch is full, the partition has no more, or the batch holds POLL_MAX_BYTES (the bound on a
      // batch's memory whatever `batchSize` and the record sizes): usually one read, which is a round trip to the
      // log's thread, queued behind its appends while a snapshot writes.
      while (polled.count < o.batchSize && polled.bytes < POLL_MAX_BYTES) {
        const read = new PackedView(await o.log.readPacked(topic, p, from, { maxRecords: o.batchSize - polled.count, maxBytes: POLL_MAX_BYTES - polled.bytes }))
        if (read.length === 0) break
        const { items } = polled
        for (let r = 0; r < read.length; r++) {
          try {
            items.decoded.push(decoder.decodeAt(read, r))
            items.views.push(read)
            items.indexes.push(r)
          } catch (err) {
            polled.undecodable.push({ raw: read.record(r), error: err as Error })
          }
          polled.bytes += Math.max(read.keyLength(r), 0) + Math.max(read.valueLength(r), 0)
        }
        polled.count += read.length
        from = read.offset(read.length - 1) + 1
        polled.consumed.set(key(topic, p), from)
      }
    }
  }
  return polled
}

/** Resolves on the next append to any of the topics, a topic's creation, after the refresh interval, or on abort. */
function waitForData(o: DeliveryOptions, topics: string[], positions: Map<string, number>): Promise<void> {
  return waitForAppends(o, topics, o.topicRefreshMs ?? TOPIC_REFRESH_MS, positions)
}

/**
 * Resolves on the next append to any of the topics, after `timeoutMs`, or on abort. With `positions`, resolves at
 * once if a partition already has records beyond them (an append between a poll and this wait would not wake it).
 */
async function waitForAppends(o: DeliveryOptions, topics: string[], timeoutMs: number, positions: Map<string, number> | null): Promise<void> {
  const wake = new AbortController()
  const onAbort = () => wake.abort()
  o.signal.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => wake.abort(), timeoutMs)
  try {
    const waits = topics.map((t) => o.log.waitForAppend(t, wake.signal).catch(() => undefined))
    if (positions) {
      waits.push(o.log.waitForTopicChange(wake.signal).catch(() => undefined))
      // A topic created since the list was taken would not wake this wait.
      if ((await o.topics()).join('\u0000') !== topics.join('\u0000')) return
    }
    for (const topic of positions ? topics : []) {
      const partitions = await partitionsOf(o.log, topic)
      for (let p = 0; p < partitions; p++) {
        if ((await o.log.offsets(topic, p)).latest > (positions?.get(key(topic, p)) ?? 0)) return
      }
    }
    await Promise.race([...waits, new Promise<void>((resolve) => wake.signal.addEventListener('abort', () => resolve(), { once: true }))])
  } finally {
    clearTimeout(timer)
    wake.abort()
    o.signal.removeEventListener('abort', onAbort)
  }
}

async function deliver(o: DeliveryOptions, polled: Polled): Promise<void> {
  const { items } = polled
  const failures = [...polled.undecodable]
  failures.push(...(await applyIsolating(o, items)))
  if (failures.length) {
    await o.log.append(failures.map((f) => deadLetter(o, f)))
    o.metrics.recordsDeadLettered += failures.length
    o.logger.warn({ pipeline_id: o.pipelineId, count: failures.length, error: failures[0].error.message }, 'records sent to the dead-letter topic')
  }
  const now = Date.now()
  let newest = 0
  for (const decoded of items.decoded) newest = Math.max(newest, Number(sourceOf(decoded)?.ts_ms ?? 0))
  o.metrics.recordsApplied += items.decoded.length - (failures.length - polled.undecodable.length)
  o.metrics.lastAppliedAtMs = now
  if (newest > 0) o.metrics.latencyMs = Math.max(0, now - newest)
}

/** Applies the items; on a RecordError splits them in halves (in order) until the rejected ones are isolated. */
async function applyIsolating(o: DeliveryOptions, items: Items): Promise<Failure[]> {
  const { decoded, views, indexes } = items
  if (decoded.length === 0) return []
  try {
    await o.writer.write(decoded, o.signal)
    return []
  } catch (err) {
    if (!(err instanceof RecordError)) throw err
    if (decoded.length === 1 || !err.isolate) return views.map((view, i) => ({ raw: view.record(indexes[i]), error: err }))
    const middle = Math.ceil(decoded.length / 2)
    const half = (from: number, to?: number): Items => ({ decoded: decoded.slice(from, to), views: views.slice(from, to), indexes: indexes.slice(from, to) })
    return [...(await applyIsolating(o, half(0, middle))), ...(await applyIsolating(o, half(middle)))]
  }
}

function deadLetter(o: DeliveryOptions, f: Failure): AppendRecord {
  return {
    topic: deadLetterTopic(o.destinationId),
    key: f.raw.key,
    value: f.raw.value,
    headers: {
      ...f.raw.headers,
      '__connect.errors.topic': f.raw.topic,
      '__connect.errors.partition': String(f.raw.partition),
      '__connect.errors.offset': String(f.raw.offset),
      '__connect.errors.connector.name': `destination_${o.destinationId}`,
      '__connect.errors.pipeline.id': o.pipelineId,
      '__connect.errors.exception.class.name': f.error.name,
      '__connect.errors.exception.message': f.error.message,
    },
  }
}
