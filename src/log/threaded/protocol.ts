/** The messages between ThreadedTopicLog (main thread) and log-worker.ts. */
import type { EmbeddedTopicLogOptions } from '../embedded/embedded-topic-log.js'
import type { PackedRecords } from '../record-batch.js'
import type { WireError } from './wire.js'

export type WorkerOptions = Omit<EmbeddedTopicLogOptions, 'logger'> & { logging: boolean }

/** Every TopicLog method but those the client handles itself (waitForAppend, waitForTopicChange, close). */
export type CallMethod =
  | 'createTopic' | 'updateTopic' | 'deleteTopic' | 'getTopic' | 'listTopics'
  | 'append' | 'read' | 'offsets' | 'offsetForTimestamp' | 'stats'
  | 'commitOffsets' | 'committedOffsets' | 'listGroups' | 'deleteGroup'
  | 'enforceRetention' | 'close'

/** `append` takes its records packed; `read` answers with packed records. */
export interface CallMessage {
  id: number
  method: CallMethod
  args: unknown[]
}

export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'failed'; error: WireError }
  /** `spare`: an append's buffer handed back for reuse once its records are stored. */
  | { kind: 'result'; id: number; value: unknown; packed?: PackedRecords; spare?: ArrayBuffer }
  | { kind: 'error'; id: number; error: WireError }
  /** Topics that got records (or were deleted): long polls waiting on them wake up. */
  | { kind: 'appended'; topics: string[] }
  | { kind: 'log'; level: 'info' | 'error'; obj: Record<string, unknown>; msg?: string }
