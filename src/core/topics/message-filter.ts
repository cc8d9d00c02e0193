/**
 * Key and value filters for browsing messages. A filter is either plain text, matched as a substring of the
 * UTF-8 text, or `$.path.to.field=<expected>`, matched when the value parses as JSON and the field at that path
 * equals `<expected>` (compared as JSON when `<expected>` parses as JSON, else as text; `$=…` is the whole value).
 * Path segments are separated by dots; a numeric segment indexes an array. Pure.
 */
import { InvalidInputError } from '../errors.js'

export type MessageFilter = (buffer: Buffer | null) => boolean

const JSON_PATH = /^\$((?:\.[^.=]+)*)=(.*)$/s

export function parseMessageFilter(text: string, loc: Array<string | number>): MessageFilter {
  const path = JSON_PATH.exec(text)
  if (!path) {
    if (text.length === 0) throw InvalidInputError.of(loc, 'a filter may not be empty', text)
    return (buffer) => buffer !== null && buffer.toString('utf8').includes(text)
  }
  const segments = path[1] === '' ? [] : path[1].slice(1).split('.')
  const expectedText = path[2]
  const expected = parseJson(expectedText)
  return (buffer) => {
    if (buffer === null) return false
    const parsed = parseJson(buffer.toString('utf8'))
    if (parsed === NOT_JSON) return false
    const actual = valueAt(parsed.value, segments)
    if (actual === NOT_JSON) return false
    if (expected !== NOT_JSON) return deepEqual(actual.value, expected.value)
    return actual.value === expectedText
  }
}

const NOT_JSON = Symbol('not-json')
type Parsed = { value: unknown } | typeof NOT_JSON

function parseJson(text: string): Parsed {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return NOT_JSON
  }
}

function valueAt(root: unknown, segments: string[]): Parsed {
  let current = root
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return NOT_JSON
    if (!Object.hasOwn(current, segment)) return NOT_JSON
    current = (current as Record<string, unknown>)[segment]
  }
  return { value: current }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
