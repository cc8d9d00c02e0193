/**
 * Zod issues → FastAPI/Pydantic v2 validation errors, so Streamkap clients parse our 422s as they parse Streamkap's:
 * `{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}` with `loc` starting at `body`, `query` or `path`.
 */
import type { Context } from 'hono'
import type { z } from 'zod'
import type { FieldProblem } from '../core/errors.js'

type Issue = z.core.$ZodIssue
type Target = 'json' | 'query' | 'param' | 'header' | 'cookie' | 'form'

const LOC_ROOT: Record<Target, string> = { json: 'body', form: 'body', query: 'query', param: 'path', header: 'header', cookie: 'cookie' }

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let current = data
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${Number(n) === 1 ? '' : 's'}`
}

function quoted(values: readonly unknown[]): string {
  const parts = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)))
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`
}

function fromTextSource(target: Target): boolean {
  return target === 'query' || target === 'param' || target === 'header'
}

function describe(issue: Issue, input: unknown, target: Target): Omit<FieldProblem, 'loc' | 'input'> {
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return { type: 'missing', msg: 'Field required' }
      const parsing = fromTextSource(target) && typeof input === 'string'
      switch (issue.expected) {
        case 'string':
          return { type: 'string_type', msg: 'Input should be a valid string' }
        case 'number':
        case 'int':
          return parsing
            ? { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' }
            : { type: 'int_type', msg: 'Input should be a valid integer' }
        case 'boolean':
          return parsing
            ? { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' }
            : { type: 'bool_type', msg: 'Input should be a valid boolean' }
        case 'array':
          return { type: 'list_type', msg: 'Input should be a valid list' }
        case 'object':
        case 'record':
          return { type: 'dict_type', msg: 'Input should be a valid dictionary' }
        default:
          return { type: `${issue.expected}_type`, msg: `Input should be a valid ${issue.expected}` }
      }
    }
    case 'too_small': {
      const min = issue.minimum
      if (issue.origin === 'string') return { type: 'string_too_short', msg: `String should have at least ${plural(min, 'character')}`, ctx: { min_length: Number(min) } }
      if (issue.origin === 'array') {
        const actual = Array.isArray(input) ? input.length : 0
        return { type: 'too_short', msg: `List should have at least ${plural(min, 'item')} after validation, not ${actual}`, ctx: { field_type: 'List', min_length: Number(min), actual_length: actual } }
      }
      return issue.inclusive === false
        ? { type: 'greater_than', msg: `Input should be greater than ${min}`, ctx: { gt: Number(min) } }
        : { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${min}`, ctx: { ge: Number(min) } }
    }
    case 'too_big': {
      const max = issue.maximum
      if (issue.origin === 'string') return { type: 'string_too_long', msg: `String should have at most ${plural(max, 'character')}`, ctx: { max_length: Number(max) } }
      if (issue.origin === 'array') {
        const actual = Array.isArray(input) ? input.length : 0
        return { type: 'too_long', msg: `List should have at most ${plural(max, 'item')} after validation, not ${actual}`, ctx: { field_type: 'List', max_length: Number(max), actual_length: actual } }
      }
      return issue.inclusive === false
        ? { type: 'less_than', msg: `Input should be less than ${max}`, ctx: { lt: Number(max) } }
        : { type: 'less_than_equal', msg: `Input should be less than or equal to ${max}`, ctx: { le: Number(max) } }
    }
    case 'invalid_value': {
      const expected = quoted(issue.values)
      return issue.values.length === 1
        ? { type: 'literal_error', msg: `Input should be ${expected}`, ctx: { expected } }
        : { type: 'enum', msg: `Input should be ${expected}`, ctx: { expected } }
    }
    case 'invalid_format':
      return issue.format === 'regex'
        ? { type: 'string_pattern_mismatch', msg: `String should match pattern '${issue.pattern}'`, ctx: { pattern: issue.pattern } }
        : { type: 'value_error', msg: `Value error, ${issue.message}` }
    default:
      return { type: 'value_error', msg: `Value error, ${issue.message}` }
  }
}

/** Flattens unions (first branch's issues, as Pydantic reports the first failing member) and unknown keys. */
function expand(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue): Issue[] => {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = issue.errors.find((errs) => errs.some((e) => e.code !== 'invalid_type')) ?? issue.errors[0]
      return expand(branch.map((e) => ({ ...e, path: [...issue.path, ...e.path] })))
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ code: 'custom', path: [...issue.path, key], message: 'extra', input: undefined }) as Issue)
    }
    return [issue]
  })
}

export function toFieldProblems(error: z.ZodError, target: Target, data: unknown): FieldProblem[] {
  const root = LOC_ROOT[target]
  return expand(error.issues).map((issue) => {
    const input = valueAt(data, issue.path)
    const loc = [root, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))]
    if (issue.code === 'custom' && issue.message === 'extra') {
      return { type: 'extra_forbidden', loc, msg: 'Extra inputs are not permitted', input }
    }
    // Pydantic reports a missing field with the object that lacks it as `input`.
    const shown = input === undefined ? (issue.path.length ? (valueAt(data, issue.path.slice(0, -1)) ?? null) : null) : input
    const { type, msg, ctx } = describe(issue, input, target)
    // Key order as Pydantic writes it: type, loc, msg, input, ctx.
    return { type, loc, msg, input: shown, ...(ctx ? { ctx } : {}) }
  })
}

/** The `defaultHook` of every OpenAPIHono app: invalid requests end here with a 422. */
export function validationHook(
  result: { success: boolean; error?: z.ZodError; target: string; data?: unknown },
  c: Context,
): Response | undefined {
  if (result.success || !result.error) return undefined
  return c.json({ detail: toFieldProblems(result.error, result.target as Target, result.data) }, 422)
}
