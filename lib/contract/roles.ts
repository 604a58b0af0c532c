import { z } from 'zod';

/**
 * Who may call what (ADR 0520). A token holds one or more tenant roles in one tenant, or the
 * server-wide `admin`. Every method of the contract declares the roles that may call it (`roles`);
 * the dispatcher checks it for every transport, the console uses the same rule to hide what a role
 * cannot do, and the role-matrix test walks every method with every role.
 *
 * This file is imported by the renderer: no Node, no Electron.
 */
export const TENANT_ROLES = [
  'viewer',
  'operator',
  'app-developer',
  'device-developer',
  'tenant-admin',
] as const;
export const ROLES = [...TENANT_ROLES, 'admin'] as const;

export type TenantRole = (typeof TENANT_ROLES)[number];
export type Role = (typeof ROLES)[number];

export const roleSchema = z.enum(ROLES);

/** What each role is for (CLI help, the console, docs/roles.md). */
export const ROLE_SUMMARY: Record<Role, string> = {
  viewer: "reads the tenant's apps, device models, sites, nodes, deployments and audit log",
  operator: 'deploys, updates and removes deployments; labels, cordons, enrolls and removes nodes',
  'app-developer': 'adds and removes applications in the App Store',
  'device-developer': 'adds and removes device models in the Device Store',
  'tenant-admin': "the tenant's sites, their orchestrators and its API tokens (and every tenant role)",
  admin:
    'the whole server: tenants, the site CA, the bus, the site registry (and every role in every tenant)',
};

/**
 * The roles a role includes. Every tenant role reads (`viewer`); `tenant-admin` holds every tenant
 * role (it hands them out); `admin` holds everything.
 */
const INCLUDES: Record<Role, readonly Role[]> = {
  viewer: ['viewer'],
  operator: ['operator', 'viewer'],
  'app-developer': ['app-developer', 'viewer'],
  'device-developer': ['device-developer', 'viewer'],
  'tenant-admin': ['tenant-admin', ...TENANT_ROLES],
  admin: ROLES,
};

/** Every role the held roles amount to (each with what it includes). */
export function effectiveRoles(held: readonly Role[]): Set<Role> {
  const out = new Set<Role>();
  for (const r of held) for (const i of INCLUDES[r] ?? []) out.add(i);
  return out;
}

/** True when the held roles satisfy one of the required ones. */
export function rolesAllow(held: readonly Role[], required: readonly Role[]): boolean {
  const eff = effectiveRoles(held);
  return required.some((r) => eff.has(r));
}

/** True when `held` is at least as powerful as `other` (everything `other` may do, `held` may too). */
export function rolesCover(held: readonly Role[], other: readonly Role[]): boolean {
  const eff = effectiveRoles(held);
  for (const r of effectiveRoles(other)) if (!eff.has(r)) return false;
  return true;
}

export function isAdmin(held: readonly Role[]): boolean {
  return held.includes('admin');
}

/** The roles a method accepts, in words: `operator`, `operator or tenant-admin`. */
export function describeRoles(required: readonly Role[]): string {
  if (required.length <= 1) return required[0] ?? 'admin';
  return `${required.slice(0, -1).join(', ')} or ${required[required.length - 1]}`;
}

/**
 * A token holds one or more tenant roles, or `admin` alone. Duplicates are removed; the order is the
 * order of ROLES. Returns the problem in words when the set is not valid.
 */
export function normalizeRoles(roles: readonly Role[]): { roles: Role[] } | { problem: string } {
  const set = new Set(roles);
  if (set.size === 0) return { problem: 'a token needs at least one role' };
  if (set.has('admin') && set.size > 1)
    return { problem: '"admin" is server-wide and already holds every role: give it alone' };
  return { roles: ROLES.filter((r) => set.has(r)) };
}
