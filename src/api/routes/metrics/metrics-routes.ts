/** `GET /metrics`: topic, consumer-group and source figures in the Prometheus text exposition format (0.0.4). */
import { createRoute, z } from '@hono/zod-openapi'
import type { MetricFamily, MetricsService } from '../../../core/metrics/metrics-service.js'
import { createRouter } from '../../app-env.js'
import { STANDARD_ERRORS } from '../../common-schemas.js'
import { requirePermission } from '../../middleware/auth.js'

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

export function renderPrometheus(families: MetricFamily[]): string {
  const lines: string[] = []
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${s.value}`)
    }
  }
  return `${lines.join('\n')}\n`
}

export function createMetricsRoutes(metrics: MetricsService) {
  const app = createRouter()
  app.openapi(
    createRoute({
      method: 'get', path: '/metrics', tags: ['Meta'], summary: 'Prometheus Metrics', operationId: 'getPrometheusMetrics',
      description: 'Scrape with a bearer token (Prometheus `authorization` config). Requires read:topics.',
      security: [{ HTTPBearer: [] }], middleware: [requirePermission('read:topics')],
      responses: { 200: { description: 'Text exposition format', content: { 'text/plain': { schema: z.string() } } }, ...STANDARD_ERRORS },
    }),
    async (c) => {
      c.header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
      return c.body(renderPrometheus(await metrics.collect()), 200) as never
    },
  )
  return app
}
