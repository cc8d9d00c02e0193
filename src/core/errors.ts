/**
 * Domain errors. Services throw these; `api/middleware/error-mapping.ts` is the one place that turns them into HTTP
 * responses (404, 409, 422, 401, 403), so no service knows about HTTP.
 */

export class NotFoundError extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${JSON.stringify(id)} not found`)
    this.name = 'NotFoundError'
  }
}

export class ConflictError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConflictError'
  }
}

/** One problem with one input field, in FastAPI/Pydantic terms. */
export interface FieldProblem {
  /** Where: starts with `body`, `query` or `path`, e.g. `['body', 'config', 'database.port']`. */
  loc: Array<string | number>
  /** Pydantic error type, e.g. `missing`, `int_parsing`, `enum`, `extra_forbidden`, `value_error`. */
  type: string
  msg: string
  input?: unknown
  ctx?: Record<string, unknown>
}

export class InvalidInputError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.loc.join('.')}: ${p.msg}`).join('; '))
    this.name = 'InvalidInputError'
  }

  static of(loc: Array<string | number>, msg: string, input?: unknown, type = 'value_error'): InvalidInputError {
    return new InvalidInputError([{ loc, type, msg, input }])
  }
}

export class UnauthorizedError extends Error {
  constructor(message = 'Not authenticated') {
    super(message)
    this.name = 'UnauthorizedError'
  }
}

export class ForbiddenError extends Error {
  constructor(message = 'Not enough permissions') {
    super(message)
    this.name = 'ForbiddenError'
  }
}
