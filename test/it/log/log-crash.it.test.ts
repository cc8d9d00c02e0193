import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createEmbeddedTopicLog } from '../../../src/log/embedded/embedded-topic-log.js'
import type { LogRecord, TopicLog } from '../../../src/log/topic-log.js'
import { COMPACT_TOPIC, CRASH_TOPIC, type CrashAck, compactKeyFor, crashKey, crashValue } from './crash-records.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '../../..')
const dir = mkdtempSync(join(tmpdir(), 'sluice-log-crash-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts the writer, waits until it has acknowledged `killAfterAcks` appends, then kill -9s it mid-stream. */
async function runWriterUntilKilled(runId: string, fsync: string, killAfterAcks: number, mode: string): Promise<CrashAck[]> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'crash-writer.ts'), dir,
    runId, fsync, mode], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  )
  const acks: CrashAck[] = []
  for await (const line of createInterface({ input: child.stdout! })) {
    acks.push(JSON.parse(line) as CrashAck)
    if (acks.length === killAfterAcks) {
      child.kill('SIGKILL')
      break
    }
  }
  const exit = await exited
  expect(exit.signal, `writer should die by our SIGKILL, not on its own; stderr: ${stderr}`).toBe('SIGKILL')
  expect(acks).toHaveLength(killAfterAcks)
  return acks
}

async function readPartition(log: TopicLog, partition: number, topic = CRASH_TOPIC): Promise<LogRecord[]> {
  const all: LogRecord[] = []
  for (let offset = 0; ; ) {
    const batch = await log.read(topic, partition, offset, { maxRecords: 5000, maxBytes: 1 << 30 })
    if (batch.length === 0) return all
    all.push(...batch)
    offset = batch[batch.length - 1].offset + 1
  }
}

/** Position of a write across runs: later runs write later. */
const order = (runId: string, seq: number): number => Number(runId.replace('run', '')) * 1e9 + seq

/**
 * The compacted topic, crashed while its cleaner ran: every key keeps a record at least as new as the latest
 * acknowledged write of that key, and no key appears twice once a full pass has run.
 */
async function checkCompactedTopic(log: TopicLog, acks: Array<{ runId: string; ack: CrashAck }>): Promise<void> {
  const latestAcked = new Map<string, number>()
  for (const { runId, ack } of acks) {
    for (let i = 0; i < ack.offsets.length; i++) {
      const key = compactKeyFor(ack.startSeq + i)
      if (key !== null) latestAcked.set(key.toString(), order(runId, ack.startSeq + i))
    }
  }
  await log.enforceRetention()
  const newestStored = new Map<string, number>()
  const duplicates: string[] = []
  for (const p of [0, 1]) {
    const records = await readPartition(log, p, COMPACT_TOPIC)
    const offsets = records.map((r) => r.offset)
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    for (const r of records) {
      const [runId, seq] = r.value!.toString().split(':')
      expect(r.value!.equals(crashValue(runId, Number(seq)))).toBe(true)
      const key = r.key!.toString()
      if (newestStored.has(key)) duplicates.push(key)
      newestStored.set(key, order(runId, Number(seq)))
    }
  }
  expect(duplicates).toEqual([])
  const lost = [...latestAcked].filter(([key, at]) => (newestStored.get(key) ?? -1) < at).map(([key]) => key)
  expect(lost).toEqual([])
}

describe('embedded topic log survives kill -9', () => {
  // Different kill points, both fsync modes, and the log on its worker thread (as Sluice runs it: the kill lands
  // while appends cross threads); each run appends to the log the previous runs left behind.
  const runs = [
    { runId: 'run1', fsync: 'always', killAfterAcks: 3, mode: 'embedded' },
    { runId: 'run2', fsync: 'always', killAfterAcks: 25, mode: 'embedded' },
    { runId: 'run3', fsync: 'never', killAfterAcks: 40, mode: 'embedded' },
    { runId: 'run4', fsync: 'always', killAfterAcks: 80, mode: 'embedded' },
    { runId: 'run5', fsync: 'always', killAfterAcks: 7, mode: 'threaded' },
    { runId: 'run6', fsync: 'always', killAfterAcks: 60, mode: 'threaded' },
    { runId: 'run7', fsync: 'always', killAfterAcks: 45, mode: 'pipelined' },
  ]
  const acknowledged: Array<{ runId: string; ack: CrashAck }> = []

  it.each(runs)('keeps every acknowledged record after kill -9 ($runId, $mode, fsync $fsync, after $killAfterAcks acks)',
    async ({ runId, fsync, killAfterAcks, mode }) => {
      for (const ack of await runWriterUntilKilled(runId, fsync, killAfterAcks, mode)) acknowledged.push({ runId, ack })

      const log = await createEmbeddedTopicLog({ dir, retentionCheckIntervalMs: 0 })
      try {
        const partitions = await Promise.all([0, 1, 2].map((p) => readPartition(log, p)))
        for (const [p, records] of partitions.entries()) {
          // Contiguous from 0 with no gaps, and the log end offset right after the last record.
          expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i))
          expect(await log.offsets(CRASH_TOPIC, p)).toEqual({ earliest: 0, latest: records.length })
          // Every stored record (acknowledged or not) is intact: it matches what its writer produced. Mismatches
          // are collected and asserted once: an expect per record would dominate the run time.
          const damaged: number[] = []
          for (const r of records) {
            const [rid, seq] = r.value!.toString().split(':')
            // Records of packed batches have no headers (crash-writer.ts).
            const headers = Object.keys(r.headers).length === 0 || (r.headers.seq === seq && Object.keys(r.headers).length === 1)
            const intact = r.value!.equals(crashValue(rid, Number(seq))) && r.key!.equals(crashKey(Number(seq))) && headers
            if (!intact) damaged.push(r.offset)
          }
          expect(damaged, `damaged records in partition ${p}`).toEqual([])
        }
        // Every acknowledged record of every run so far is there, at the offset it was acknowledged with.
        const missing: string[] = []
        let checked = 0
        for (const { runId: rid, ack } of acknowledged) {
          for (const [i, [p, offset]] of ack.offsets.entries()) {
            const value = partitions[p][offset]?.value
            const intact = value != null && value.equals(crashValue(rid, ack.startSeq + i))
            if (!intact) missing.push(`${rid} ${p}:${offset}`)
            checked++
          }
        }
        expect(missing).toEqual([])
        await checkCompactedTopic(log, acknowledged)
        expect(checked).toBeGreaterThan(0)
        // A new append continues right after the last stored record of its partition.
        const latest = partitions[1].length
        const [result] = await log.append([{ topic: CRASH_TOPIC, key: crashKey(0), value: crashValue('probe', 0),
          headers: { seq: '0' }, partition: 1 }])
        expect(result).toEqual({ topic: CRASH_TOPIC, partition: 1, offset: latest })
        expect(await log.stats(CRASH_TOPIC, 1)).toMatchObject({ records: latest + 1 })
      } finally {
        await log.close()
      }
    })
})
