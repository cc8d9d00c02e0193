/**
 * The three roles Streamkap users know, and the permissions each grants. Permissions are checked per route
 * (`api/middleware/auth.ts`); Read Only may read everything but secrets and change nothing.
 */

export const PERMISSIONS = [
  'read:sources',
  'write:sources',
  'read:source_metrics',
  'execute:snapshots',
  'read:destinations',
  'write:destinations',
  'read:pipelines',
  'write:pipelines',
  'read:pipeline_metrics',
  'read:topics',
  'write:topics',
  'read:consumer_groups',
  'write:consumer_groups',
  'read:secrets',
  'read:credentials',
  'write:credentials',
] as const

export type Permission = (typeof PERMISSIONS)[number]

export interface Role {
  id: string
  key: string
  name: string
  description: string
  permissions: Permission[]
}

const READ: Permission[] = PERMISSIONS.filter((p) => p.startsWith('read:') && p !== 'read:secrets' && p !== 'read:credentials')
const DATA_WRITE: Permission[] = [
  'write:sources',
  'execute:snapshots',
  'write:destinations',
  'write:pipelines',
  'write:topics',
  'write:consumer_groups',
  'read:secrets',
]

export const ROLES: readonly Role[] = Object.freeze([
  {
    id: 'admin',
    key: 'admin',
    name: 'Admin',
    description: 'Full access, including API credentials and secrets.',
    permissions: [...PERMISSIONS],
  },
  {
    id: 'data_admin',
    key: 'data_admin',
    name: 'Data Admin',
    description: 'Manage sources, destinations, pipelines, topics and snapshots; no credential management.',
    permissions: [...READ, ...DATA_WRITE],
  },
  {
    id: 'read_only',
    key: 'read_only',
    name: 'Read Only',
    description: 'Read everything except secrets; change nothing.',
    permissions: [...READ],
  },
])

/** Finds a role by id, key or display name (case-insensitive), so scripts may say `Admin` or `admin`. */
export function findRole(ref: string): Role | undefined {
  const wanted = ref.trim().toLowerCase()
  return ROLES.find((r) => r.id === wanted || r.key === wanted || r.name.toLowerCase() === wanted)
}

export function permissionsOf(roleIds: string[]): Set<Permission> {
  const granted = new Set<Permission>()
  for (const id of roleIds) for (const p of findRole(id)?.permissions ?? []) granted.add(p)
  return granted
}
