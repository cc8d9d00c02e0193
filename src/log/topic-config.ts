/**
 * Topic names and configs: Kafka's defaults and validation rules, shared by every TopicLog implementation.
 * Pure; no I/O.
 */
import { InvalidLogRequestError } from './log-errors.js'
import type { TopicConfig } from './topic-log.js'

export const DEFAULT_TOPIC_CONFIG: Readonly<TopicConfig> = Object.freeze({
  partitions: 1,
  cleanupPolicy: 'delete',
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  // Kafka's message.max.bytes default.
  maxMessageBytes: 1_048_588,
})

/** Kafka caps partitions far higher; the embedded log keeps one row per partition, so a sane bound helps. */
export const MAX_PARTITIONS = 10_000

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new InvalidLogRequestError(
      'name',
      `invalid topic name '${name}': use 1-249 of [a-zA-Z0-9._-], not '.' or '..'`,
    )
  }
}

/** Merges `patch` over `base` and validates the result; unknown keys are ignored. */
export function resolveTopicConfig(base: Readonly<TopicConfig>, patch: Partial<TopicConfig> = {}): TopicConfig {
  const config: TopicConfig = {
    partitions: patch.partitions ?? base.partitions,
    cleanupPolicy: patch.cleanupPolicy ?? base.cleanupPolicy,
    retentionMs: patch.retentionMs ?? base.retentionMs,
    retentionBytes: patch.retentionBytes ?? base.retentionBytes,
    maxMessageBytes: patch.maxMessageBytes ?? base.maxMessageBytes,
  }
  if (!Number.isInteger(config.partitions) || config.partitions < 1 || config.partitions > MAX_PARTITIONS) {
    throw new InvalidLogRequestError('partitions', `partitions must be an integer from 1 to ${MAX_PARTITIONS}`)
  }
  if (config.cleanupPolicy !== 'delete' && config.cleanupPolicy !== 'compact') {
    throw new InvalidLogRequestError('cleanupPolicy', "cleanupPolicy must be 'delete' or 'compact'")
  }
  for (const field of ['retentionMs', 'retentionBytes'] as const) {
    const value = config[field]
    if (!Number.isSafeInteger(value) || value < -1) {
      throw new InvalidLogRequestError(field, `${field} must be -1 (unlimited) or a non-negative integer`)
    }
  }
  if (!Number.isSafeInteger(config.maxMessageBytes) || config.maxMessageBytes < 1) {
    throw new InvalidLogRequestError('maxMessageBytes', 'maxMessageBytes must be a positive integer')
  }
  return config
}
