/**
 * Lifecycle actions shared by sources and destinations: `POST /{kind}/{id}/actions/{action}` and the bulk state
 * changes `POST /{kind}/bulk/{action}` (Streamkap names `stop`, `resume` and `reset` for these; the paths are
 * inferred, and `reset` is not offered).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from './app-env.js'
import { type BulkFilterLinks, type BulkItem, BulkResult, BulkSelection, attempt, bulkResult, selectIds } from './bulk.js'
import { STANDARD_ERRORS, jsonBody, jsonResponse } from './common-schemas.js'
import type { requirePermission } from './middleware/auth.js'

export const ACTIONS = ['pause', 'resume', 'restart', 'stop'] as const
export type Action = (typeof ACTIONS)[number]

/** The desired state an action leaves the entity in. */
export function desiredStateFor(action: Action): 'Paused' | 'Stopped' | 'Active' {
  return action === 'pause' ? 'Paused' : action === 'stop' ? 'Stopped' : 'Active'
}

const ACTION_DONE: Record<Action, string> = { pause: 'paused', resume: 'resumed', restart: 'restarted', stop: 'stopped' }
const titleCase = (word: string) => `${word[0].toUpperCase()}${word.slice(1)}`

const BulkStateChangeBody = BulkSelection.openapi('BulkStateChangeBody')

export interface BulkActionsOptions {
  /** `Source` or `Destination`: the path is `/<noun>s/bulk/<action>`. */
  noun: 'Source' | 'Destination'
  tags: string[]
  security: Array<Record<string, string[]>>
  middleware: ReturnType<typeof requirePermission>
  /** What each action does, and how the filters select. */
  description: string
  all(): Promise<string[]>
  links: BulkFilterLinks
  /** Applies the action to one entity; its result is the item's `data`. */
  apply(id: string, action: Action): Promise<Record<string, unknown>>
}

/** Registers `POST /<noun>s/bulk/<action>` for every action: one result per selected entity, failures alone. */
export function registerBulkActions(app: OpenAPIHono<AppEnv>, o: BulkActionsOptions): void {
  const plural = `${o.noun}s`
  for (const action of ACTIONS) {
    app.openapi(
      createRoute({
        method: 'post', path: `/${plural.toLowerCase()}/bulk/${action}`, tags: o.tags, summary: `Bulk ${titleCase(action)} ${plural}`,
        operationId: `bulk${titleCase(action)}${plural}`, description: o.description,
        security: o.security, middleware: [o.middleware], request: { body: jsonBody(BulkStateChangeBody) },
        responses: { 200: jsonResponse(BulkResult), ...STANDARD_ERRORS },
      }),
      async (c) => {
        const ids = await selectIds(c.req.valid('json'), o.all, o.links)
        const results: BulkItem[] = []
        for (const id of ids) results.push(await attempt(id, () => o.apply(id, action), `${o.noun} ${ACTION_DONE[action]}`))
        return c.json(bulkResult(results), 200)
      },
    )
  }
}
