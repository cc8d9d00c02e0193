/**
 * Errors the topic log throws for caller mistakes. Each carries its data so the API layer can map it once
 * (not found → 404, exists → 409, invalid → 422) without parsing messages.
 */

export class TopicNotFoundError extends Error {
  constructor(readonly topic: string) {
    super(`topic '${topic}' does not exist`)
    this.name = 'TopicNotFoundError'
  }
}

export class TopicExistsError extends Error {
  constructor(readonly topic: string, detail: string) {
    super(`topic '${topic}' already exists ${detail}`)
    this.name = 'TopicExistsError'
  }
}

export class GroupNotFoundError extends Error {
  constructor(readonly group: string) {
    super(`consumer group '${group}' does not exist`)
    this.name = 'GroupNotFoundError'
  }
}

/** Bad input: an invalid topic name or config, an out-of-range partition, an oversized or unkeyed record. */
export class InvalidLogRequestError extends Error {
  constructor(readonly field: string, message: string) {
    super(message)
    this.name = 'InvalidLogRequestError'
  }
}

/** The log was used after `close()`. */
export class LogClosedError extends Error {
  constructor() {
    super('the topic log is closed')
    this.name = 'LogClosedError'
  }
}
