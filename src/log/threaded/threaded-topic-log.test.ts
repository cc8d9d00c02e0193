import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LogClosedError } from '../log-errors.js'
import { RecordBatch } from '../record-batch.js'
import type { TopicLog } from '../topic-log.js'
import { createThreadedTopicLog } from './threaded-topic-log.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-threaded-'))
  dirs.push(dir)
  return dir
}

describe('threaded topic log', () => {
  it('appends a RecordBatch, and the batch bytes arrive intact after the batch buffer is reused', async () => {
    const log = await createThreadedTopicLog({ dir: newDir(), retentionCheckIntervalMs: 0 })
    try {
      await log.createTopic('t')
      for (let round = 0; round < 3; round++) {
        const batch = new RecordBatch()
        for (let i = 0; i < 2000; i++) batch.add({ topic: 't', key: `{"id":${i}}`, value: `{"round":${round},"n":"${'é'.repeat(i % 5)}"}`, timestamp: 1000 + i })
        batch.add({ topic: 't', key: `{"id":-1}`, value: null })
        await log.append(batch)
      }
      const offsets = await log.offsets('t', 0)
      expect(offsets.latest).toBe(3 * 2001)
      const [first] = await log.read('t', 0, 2001 + 7, { maxRecords: 1 })
      expect(first.key?.toString()).toBe('{"id":7}')
      expect(JSON.parse(first.value?.toString() ?? '')).toEqual({ round: 1, n: 'éé' })
      expect(first.timestamp).toBe(1007)
      const [tombstone] = await log.read('t', 0, 2000, { maxRecords: 1 })
      expect(tombstone.value).toBeNull()
    } finally {
      await log.close()
    }
  })

  it('reports a dead worker thread once, and fails every call after it', async () => {
    const failures: Error[] = []
    const log: TopicLog = await createThreadedTopicLog({ dir: newDir(), retentionCheckIntervalMs: 0, onFailure: (e) => failures.push(e) })
    await log.createTopic('t')
    // A real thread termination, as a crash inside the worker would end it.
    await (log as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate()
    await expect(log.append([{ topic: 't', key: null, value: Buffer.from('x') }])).rejects.toThrow(/worker thread exited/)
    await expect(log.listTopics()).rejects.toThrow(/worker thread exited/)
    expect(failures).toHaveLength(1)
    await log.close()
    await expect(log.listTopics()).rejects.toBeInstanceOf(LogClosedError)
  })

  it('does not report a refusal to open as a crash', async () => {
    const dir = newDir()
    const failures: Error[] = []
    const first = await createThreadedTopicLog({ dir, retentionCheckIntervalMs: 0 })
    try {
      await expect(createThreadedTopicLog({ dir, retentionCheckIntervalMs: 0, onFailure: (e) => failures.push(e) })).rejects.toThrow(/in use/)
      expect(failures).toEqual([])
    } finally {
      await first.close()
    }
  })
})
