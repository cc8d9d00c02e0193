/**
 * Validates and normalizes an entity's connector config against its connector's property list: aliases resolved to
 * canonical keys, values coerced to their types (Streamkap clients send numbers and booleans as strings), defaults
 * filled in, set-once keys enforced on update. Every problem is reported at once, as Pydantic would, with the key in
 * `loc`.
 */
import type { ConfigProperty, ConnectorSpec } from '../../connectors/connector-spec.js'
import { type FieldProblem, InvalidInputError } from '../errors.js'

export type ConnectorConfig = Record<string, string | number | boolean>

/** What clients see instead of a secret, and may send back unchanged on update to keep the stored value. */
export const REDACTED = '********'

const TRUE = new Set(['true', '1', 'yes', 'on', 'y', 't'])
const FALSE = new Set(['false', '0', 'no', 'off', 'n', 'f'])

function quoteList(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`)
  return quoted.length <= 1 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`
}

function coerce(prop: ConfigProperty, raw: unknown, loc: Array<string | number>): { value?: string | number | boolean; problem?: FieldProblem } {
  const fail = (type: string, msg: string, ctx?: Record<string, unknown>) => ({ problem: { loc, type, msg, input: raw, ...(ctx ? { ctx } : {}) } })
  switch (prop.type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
      if (typeof raw === 'number' && !Number.isInteger(raw)) return fail('int_from_float', 'Input should be a valid integer, got a number with a fractional part')
      if (!Number.isSafeInteger(n)) return fail('int_parsing', 'Input should be a valid integer, unable to parse string as an integer')
      if (prop.min !== undefined && n < prop.min) return fail('greater_than_equal', `Input should be greater than or equal to ${prop.min}`, { ge: prop.min })
      if (prop.max !== undefined && n > prop.max) return fail('less_than_equal', `Input should be less than or equal to ${prop.max}`, { le: prop.max })
      return { value: n }
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { value: raw }
      const text = typeof raw === 'string' ? raw.trim().toLowerCase() : typeof raw === 'number' ? String(raw) : ''
      if (TRUE.has(text)) return { value: true }
      if (FALSE.has(text)) return { value: false }
      return fail('bool_parsing', 'Input should be a valid boolean, unable to interpret input')
    }
    case 'enum': {
      const values = prop.values ?? []
      if (typeof raw === 'string' && values.includes(raw)) return { value: raw }
      const expected = quoteList(values)
      return fail('enum', `Input should be ${expected}`, { expected })
    }
    default: {
      if (typeof raw !== 'string') return fail('string_type', 'Input should be a valid string')
      return { value: raw }
    }
  }
}

export interface NormalizeOptions {
  entityId: string
  /** The stored config when updating: secrets sent as `********` (or left out) keep their stored value. */
  existing?: ConnectorConfig
}

export function normalizeConfig(spec: ConnectorSpec, input: Record<string, unknown>, options: NormalizeOptions): ConnectorConfig {
  const byName = new Map<string, ConfigProperty>()
  for (const prop of spec.properties) {
    byName.set(prop.name, prop)
    for (const alias of prop.aliases ?? []) byName.set(alias, prop)
  }
  const problems: FieldProblem[] = []
  const config: ConnectorConfig = {}
  const seenAs = new Map<string, string>()
  const invalid = new Set<string>()

  for (const [key, raw] of Object.entries(input)) {
    const loc = ['body', 'config', key]
    const prop = byName.get(key)
    if (!prop) {
      problems.push({ loc, type: 'extra_forbidden', msg: 'Extra inputs are not permitted', input: raw })
      continue
    }
    if (raw === null || raw === undefined || raw === '') continue
    if (prop.secret && raw === REDACTED && options.existing?.[prop.name] !== undefined) continue
    const { value, problem } = coerce(prop, raw, loc)
    if (problem) {
      problems.push(problem)
      invalid.add(prop.name)
      continue
    }
    const earlier = seenAs.get(prop.name)
    if (earlier !== undefined && config[prop.name] !== value) {
      problems.push({ loc, type: 'value_error', msg: `Value error, conflicts with ${earlier}`, input: raw })
      continue
    }
    seenAs.set(prop.name, key)
    config[prop.name] = value as string | number | boolean
  }

  const dynamic = spec.dynamicDefaults?.(options.entityId) ?? {}
  for (const prop of spec.properties) {
    if (config[prop.name] !== undefined || invalid.has(prop.name)) continue
    // PUT replaces the config, but a secret or set-once value the client left out (or sent redacted) is kept.
    const kept = prop.secret || prop.setOnce ? options.existing?.[prop.name] : undefined
    const fallback = dynamic[prop.name] ?? prop.default
    if (kept !== undefined) config[prop.name] = kept
    else if (prop.required) problems.push({ loc: ['body', 'config', prop.name], type: 'missing', msg: 'Field required', input })
    else if (fallback !== undefined) config[prop.name] = fallback
  }

  if (options.existing) {
    for (const prop of spec.properties) {
      if (!prop.setOnce) continue
      const before = options.existing[prop.name]
      if (before !== undefined && config[prop.name] !== before) {
        problems.push({
          loc: ['body', 'config', seenAs.get(prop.name) ?? prop.name],
          type: 'value_error',
          msg: `Value error, ${prop.name} cannot be changed after create`,
          input: config[prop.name],
        })
      }
    }
  }

  if (problems.length === 0) {
    for (const { key, msg } of spec.check?.(config) ?? []) {
      problems.push({ loc: ['body', 'config', seenAs.get(key) ?? key], type: 'value_error', msg: `Value error, ${msg}`, input: config[key] })
    }
  }
  if (problems.length > 0) throw new InvalidInputError(problems)
  return config
}
