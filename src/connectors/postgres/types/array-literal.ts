/**
 * PostgreSQL's array text format → nested arrays of element texts (null for an unquoted NULL).
 * `{1,NULL,"a \"b\"",{2,3}}`, with an optional `[lo:hi]=` bounds prefix that only non-default lower bounds carry.
 * https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO
 */

export type ArrayLiteral = Array<string | null | ArrayLiteral>

export function parseArrayLiteral(text: string, delimiter = ','): ArrayLiteral {
  let start = 0
  if (text[0] === '[') {
    start = text.indexOf('=') + 1
    if (start === 0) fail(text, 'bounds without "="')
  }
  if (text[start] !== '{') fail(text, 'expected "{"')
  const parser = { text, pos: start, delimiter }
  const result = parseLevel(parser)
  if (parser.pos !== text.length) fail(text, 'trailing characters')
  return result
}

interface Parser {
  text: string
  pos: number
  delimiter: string
}

function parseLevel(p: Parser): ArrayLiteral {
  const out: ArrayLiteral = []
  p.pos++ // '{'
  if (p.text[p.pos] === '}') {
    p.pos++
    return out
  }
  for (;;) {
    const ch = p.text[p.pos]
    if (ch === '{') out.push(parseLevel(p))
    else if (ch === '"') out.push(parseQuoted(p))
    else out.push(parseUnquoted(p))
    const next = p.text[p.pos++]
    if (next === '}') return out
    if (next !== p.delimiter) fail(p.text, `unexpected ${next === undefined ? 'end' : JSON.stringify(next)}`)
  }
}

function parseQuoted(p: Parser): string {
  let value = ''
  let i = p.pos + 1
  for (;;) {
    const ch = p.text[i]
    if (ch === undefined) fail(p.text, 'unterminated quoted element')
    if (ch === '"') break
    if (ch === '\\') {
      i++
      if (p.text[i] === undefined) fail(p.text, 'dangling backslash')
    }
    value += p.text[i]
    i++
  }
  p.pos = i + 1
  return value
}

function parseUnquoted(p: Parser): string | null {
  const start = p.pos
  let i = start
  while (i < p.text.length && p.text[i] !== p.delimiter && p.text[i] !== '}') i++
  if (i === p.text.length) fail(p.text, 'unterminated array')
  p.pos = i
  const value = p.text.slice(start, i).trim()
  return value.toUpperCase() === 'NULL' ? null : value
}

function fail(text: string, why: string): never {
  throw new Error(`cannot parse PostgreSQL array text ${JSON.stringify(text)}: ${why}`)
}
