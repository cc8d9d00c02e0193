import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type DestinationRecord, RecordError } from '../connectors/destinations/destination.js'
import { createEmbeddedTopicLog } from '../log/embedded/embedded-topic-log.js'
import type { TopicLog } from '../log/topic-log.js'
import { type DeliveryOptions, newDeliveryMetrics, runDelivery } from './pipeline-delivery.js'

const TOPIC = 'source_x.public.t'
const silent = { info() {}, warn() {}, error() {}, debug() {} }
let dir: string
let log: TopicLog

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-delivery-'))
  log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0 })
  await log.createTopic(TOPIC)
})
afterEach(async () => {
  await log.close()
  rmSync(dir, { recursive: true, force: true })
})

const change = (id: number, extra: Record<string, unknown> = {}) => ({
  topic: TOPIC,
  key: Buffer.from(JSON.stringify({ id })),
  value: Buffer.from(JSON.stringify({ before: null, after: { id, ...extra }, source: { table: 't', ts_ms: 1 }, op: 'c' })),
})

/** Runs a delivery until `done` says so, with a writer that records each batch's ids. */
async function deliver(options: Partial<DeliveryOptions> & { done(batches: number[][]): boolean; reject?(r: DestinationRecord): boolean }) {
  const batches: number[][] = []
  const stop = new AbortController()
  const run = runDelivery({
    pipelineId: 'p',
    destinationId: 'd',
    group: 'pipeline_p',
    log,
    batchSize: 100,
    topics: async () => [TOPIC],
    metrics: newDeliveryMetrics(),
    logger: silent,
    signal: stop.signal,
    onRunning() {},
    ...options,
    writer: {
      async write(records) {
        if (records.some((r) => options.reject?.(r))) throw new RecordError('rejected')
        batches.push(records.map((r) => (r.key as { id: number }).id))
        if (options.done(batches)) stop.abort()
      },
      close: async () => undefined,
    },
  })
  await run
  return batches
}

describe('runDelivery', () => {
  it('commits the group offsets after each applied batch, and resumes from them', async () => {
    await log.append([change(1), change(2), change(3)])
    expect(await deliver({ batchSize: 2, done: (b) => b.flat().length === 3 })).toEqual([[1, 2], [3]])
    expect(await log.committedOffsets('pipeline_p')).toEqual([{ topic: TOPIC, partition: 0, offset: 3 }])
    await log.append([change(4)])
    expect(await deliver({ done: (b) => b.length === 1 })).toEqual([[4]])
  })

  it('isolates rejected records by bisection and dead-letters them with the error', async () => {
    await log.append([1, 2, 3, 4, 5, 6, 7].map((id) => change(id)))
    await log.append([{ topic: TOPIC, key: Buffer.from('{"id":8}'), value: Buffer.from('not json') }])
    const batches = await deliver({ reject: (r) => (r.key as { id: number }).id === 5, done: (b) => b.flat().length === 6 })
    expect(batches.flat()).toEqual([1, 2, 3, 4, 6, 7])
    const letters = await log.read('destination_d.streamkap.deadletterqueue', 0, 0)
    expect(letters.map((r) => [JSON.parse(r.key!.toString()).id, r.headers['__connect.errors.offset']])).toEqual([[8, '7'], [5, '4']])
    expect(letters[1].headers['__connect.errors.exception.message']).toBe('rejected')
  })

  it('lingers: a small batch waits for more records instead of being written at once', async () => {
    await log.append([change(1)])
    // Append more only once the delivery is waiting (its first wait for appends), so the test does not race it.
    let appended = false
    const watching: TopicLog = Object.create(log)
    watching.waitForAppend = (topic, signal) => {
      const wait = log.waitForAppend(topic, signal)
      if (!appended) {
        appended = true
        void log.append([change(2), change(3)])
      }
      return wait
    }
    const batches = await deliver({ log: watching, batchSize: 3, lingerMs: 60_000, done: (b) => b.flat().length === 3 })
    expect(batches).toEqual([[1, 2, 3]])
  })

  it('reads a topic created while it waits, from its first record, without waiting for the next topic listing', async () => {
    const later = 'later.public.t'
    let created = false
    const watching: TopicLog = Object.create(log)
    watching.waitForTopicChange = (signal) => {
      const wait = log.waitForTopicChange(signal)
      if (!created) {
        created = true
        void log.createTopic(later).then(() => log.append([{ ...change(1), topic: later }]))
      }
      return wait
    }
    const topics = async () => (await log.listTopics()).map((t) => t.name).filter((name) => name.startsWith('later.'))
    // Topics are listed again only every ten minutes while busy: the new topic must be noticed by its creation.
    const batches = await deliver({ log: watching, topics, topicRefreshMs: 600_000, done: (b) => b.length === 1 })
    expect(batches).toEqual([[1]])
  })
})
