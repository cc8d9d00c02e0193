/** The Hono environment every route sees, and the services the API calls into. */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { AuthVariables } from './middleware/auth.js'
import type { RequestIdVariables } from './middleware/request-id.js'
import { validationHook } from './validation.js'

export type AppEnv = { Variables: AuthVariables & RequestIdVariables }

/** A sub-app for one API tag, with the FastAPI-style validation hook. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook as never })
}
