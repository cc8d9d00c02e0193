/**
 * Sluice's process configuration: command-line flags, falling back to `SLUICE_*` environment variables, falling
 * back to defaults. Validated once at start-up into a frozen object; nothing else reads the environment.
 */
import { resolve } from 'node:path'
import { z } from 'zod'

export interface Config {
  host: string
  port: number
  dataDir: string
  /** `postgres://…` for a shared PostgreSQL metadata store; unset means embedded SQLite in `dataDir`. */
  metadataUrl: string | undefined
  secretKey: string | undefined
  adminClientId: string | undefined
  adminSecret: string | undefined
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
}

const schema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  dataDir: z.string().min(1).default('./.sluice'),
  metadataUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  secretKey: z.string().min(1).optional(),
  adminClientId: z.string().min(1).optional(),
  adminSecret: z.string().min(8, 'must be at least 8 characters').optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  accessTokenTtlSeconds: z.coerce.number().int().positive().default(3600),
  refreshTokenTtlSeconds: z.coerce.number().int().positive().default(7 * 24 * 3600),
})

const ENV_NAMES: Record<keyof Config, string> = {
  host: 'SLUICE_HOST',
  port: 'SLUICE_PORT',
  dataDir: 'SLUICE_DATA_DIR',
  metadataUrl: 'SLUICE_METADATA_URL',
  secretKey: 'SLUICE_SECRET_KEY',
  adminClientId: 'SLUICE_ADMIN_CLIENT_ID',
  adminSecret: 'SLUICE_ADMIN_SECRET',
  logLevel: 'SLUICE_LOG_LEVEL',
  accessTokenTtlSeconds: 'SLUICE_ACCESS_TOKEN_TTL_SECONDS',
  refreshTokenTtlSeconds: 'SLUICE_REFRESH_TOKEN_TTL_SECONDS',
}

export class ConfigError extends Error {}

export function loadConfig(
  flags: Partial<Record<keyof Config, string | number | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Readonly<Config> {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(ENV_NAMES) as Array<keyof Config>) {
    const value = flags[key] ?? env[ENV_NAMES[key]]
    if (value !== undefined && value !== '') input[key] = value
  }
  const parsed = schema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${ENV_NAMES[i.path[0] as keyof Config] ?? i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  }
  const config: Config = {
    ...parsed.data,
    dataDir: resolve(parsed.data.dataDir),
    metadataUrl: parsed.data.metadataUrl,
    secretKey: parsed.data.secretKey,
    adminClientId: parsed.data.adminClientId,
    adminSecret: parsed.data.adminSecret,
  }
  return Object.freeze(config)
}
