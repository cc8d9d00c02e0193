/**
 * How a connector kind describes its configuration: the data behind `GET /sources/connectors` and the input to the
 * generic config validator in `core/sources/config-validation.ts`. Keys use Streamkap's dotted names.
 */

export type ConfigValueType = 'string' | 'password' | 'int' | 'boolean' | 'enum'

export interface ConfigProperty {
  name: string
  displayName: string
  description: string
  type: ConfigValueType
  required: boolean
  default?: string | number | boolean
  /** Allowed values of an enum. */
  values?: readonly string[]
  min?: number
  max?: number
  /** Encrypted at rest and redacted in responses. */
  secret?: boolean
  /** Cannot change after create (e.g. the replication slot name). */
  setOnce?: boolean
  /** Other accepted spellings, e.g. Streamkap's `database.hostname.user.defined`. */
  aliases?: readonly string[]
  advanced?: boolean
  /** Settings Sluice accepts for compatibility but does not act on. */
  ignored?: boolean
}

export interface ConfigCheckProblem {
  /** The config key the problem is about. */
  key: string
  msg: string
}

export interface ConnectorSpec {
  code: string
  displayName: string
  kind: 'source' | 'destination'
  properties: readonly ConfigProperty[]
  /** Defaults that depend on the entity, e.g. `slot.name` derived from the source id. */
  dynamicDefaults?(entityId: string): Record<string, string | number | boolean>
  /** Cross-field checks after types are known. */
  check?(config: Readonly<Record<string, unknown>>): ConfigCheckProblem[]
}

/**
 * For a setting where 0 turns a timer off: a positive value below `min` ms is a problem. Such a timer would fire
 * on every ordinary pause (a probe every few milliseconds, a reconnect on a healthy connection), which no one means.
 */
export function zeroOrAtLeast(config: Readonly<Record<string, unknown>>, key: string, min: number): ConfigCheckProblem[] {
  const value = config[key]
  return typeof value === 'number' && value > 0 && value < min ? [{ key, msg: `must be 0 (off) or at least ${min}` }] : []
}
