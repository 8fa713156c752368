import type { Policy } from '../../config/env.js';
import { ConnectorError } from '../../errors/connector-error.js';
import type { DatabaseAccessConfig } from './config.js';
import type { AccessEntry } from './payloads.js';
import type { GrantedRole } from './user-model.js';

/**
 * Validation that needs no Atlas call: the connector's local policy (ARCHITECTURE §6, which no job
 * can override) and the role rules Atlas would otherwise reject half-way through a grant. Every
 * error names the rule and the payload field, so the requester can fix the request.
 */

/** Roles that reach every database or the cluster itself: denied unless the policy allows them. */
export const adminClassRoles: ReadonlySet<string> = new Set([
  'atlasAdmin',
  'readAnyDatabase',
  'readWriteAnyDatabase',
  'dbAdminAnyDatabase',
  'userAdminAnyDatabase',
  'clusterMonitor',
  'clusterManager',
  'clusterAdmin',
  'backup',
  'restore',
  'enableSharding',
  'root',
]);

/** Built-in roles that act on one database, so the grant must name it. */
export const databaseRoles: ReadonlySet<string> = new Set([
  'read',
  'readWrite',
  'dbAdmin',
  'dbOwner',
  'userAdmin',
]);

/** The only roles Atlas lets a grant narrow to one collection. */
const collectionRoles: ReadonlySet<string> = new Set(['read', 'readWrite']);

export function isBuiltInRole(roleName: string): boolean {
  return adminClassRoles.has(roleName) || databaseRoles.has(roleName);
}

export function policyDenied(field: string, message: string): ConnectorError {
  return new ConnectorError({ code: 'policy_denied', message: `${field}: ${message}`, details: { field } });
}

export function invalidRequest(field: string, message: string): ConnectorError {
  return new ConnectorError({ code: 'invalid_request', message: `${field}: ${message}`, details: { field } });
}

/** POLICY_ALLOWED_PROJECT_IDS, when set, bounds every project a grant, renew or rotate may touch. */
export function checkProjectPolicy(policy: Policy, projectId: string): void {
  if (policy.allowedProjectIds.length > 0 && !policy.allowedProjectIds.includes(projectId)) {
    throw policyDenied(
      'projectId',
      `project ${projectId} is not in the connector policy's allowed projects (POLICY_ALLOWED_PROJECT_IDS)`,
    );
  }
}

/** POLICY_ALLOWED_ROLES, when set, lists every role a grant may give; admin-class roles need an opt-in. */
export function checkRolePolicy(policy: Policy, roleName: string, field: string): void {
  if (policy.allowedRoles.length > 0 && !policy.allowedRoles.includes(roleName)) {
    throw policyDenied(
      field,
      `role ${roleName} is not in the connector policy's allowed roles (POLICY_ALLOWED_ROLES)`,
    );
  }
  if (adminClassRoles.has(roleName) && !policy.allowAdminRoles) {
    throw policyDenied(
      field,
      `${roleName} is an admin-class role, denied unless the connector policy sets POLICY_ALLOW_ADMIN_ROLES=true`,
    );
  }
}

export interface GrantTiming {
  readonly ttlSeconds?: number | undefined;
  readonly expiresAt?: string | undefined;
}

/**
 * The grant's expiry, bounded by POLICY_MAX_GRANT_TTL from now. Longer than Atlas's 7-day
 * `deleteAfterDate` window is fine: the date is clamped and rolled forward (invariant 1).
 */
export function grantExpiryMs(timing: GrantTiming, nowMs: number, policy: Policy): number {
  const field = timing.ttlSeconds === undefined ? 'expiresAt' : 'ttlSeconds';
  const expiresAtMs =
    timing.ttlSeconds === undefined ? Date.parse(timing.expiresAt ?? '') : nowMs + timing.ttlSeconds * 1000;
  if (!Number.isFinite(expiresAtMs))
    throw invalidRequest(field, 'one of ttlSeconds or expiresAt is required');
  const ttlMs = expiresAtMs - nowMs;
  if (ttlMs <= 0) throw policyDenied(field, 'the grant must end in the future');
  if (ttlMs > policy.maxGrantTtlMs) {
    throw policyDenied(
      field,
      `a TTL of ${Math.ceil(ttlMs / 1000)} s exceeds the connector policy's maximum of ${Math.floor(policy.maxGrantTtlMs / 1000)} s (POLICY_MAX_GRANT_TTL)`,
    );
  }
  return expiresAtMs;
}

/** The local policy over every access entry of a grant. */
export function checkAccessPolicy(policy: Policy, access: readonly AccessEntry[]): void {
  access.forEach((entry, i) => checkRolePolicy(policy, entry.role, `access[${i}].role`));
}

function roleFor(entry: AccessEntry, field: string): GrantedRole {
  const { cluster, role, database, collection } = entry;
  if (collection !== undefined && !collectionRoles.has(role)) {
    throw invalidRequest(`${field}.collection`, 'only read and readWrite can be scoped to a collection');
  }
  if (databaseRoles.has(role)) {
    if (database === undefined) throw invalidRequest(`${field}.database`, `is required for role ${role}`);
    return {
      cluster,
      roleName: role,
      databaseName: database,
      ...(collection === undefined ? {} : { collectionName: collection }),
    };
  }
  if (database !== undefined && database !== 'admin') {
    const what = adminClassRoles.has(role)
      ? `${role} applies to the whole cluster`
      : `custom role ${role} is defined project-wide`;
    throw invalidRequest(`${field}.database`, `${what}: use database admin or omit it`);
  }
  return { cluster, roleName: role, databaseName: 'admin' };
}

/**
 * Atlas's role rules, applied before any write: cluster-wide and custom roles live on `admin`,
 * database roles need a database, collections only narrow read/readWrite, and an atlas-project
 * integration grants on its one cluster. Identical entries collapse into one role.
 */
export function normalizeAccess(config: DatabaseAccessConfig, access: readonly AccessEntry[]): GrantedRole[] {
  const roles = new Map<string, GrantedRole>();
  access.forEach((entry, i) => {
    if (config.clusterName !== undefined && entry.cluster !== config.clusterName) {
      throw invalidRequest(
        `access[${i}].cluster`,
        `cluster ${entry.cluster} is not this integration's; it grants access to cluster ${config.clusterName} only`,
      );
    }
    const role = roleFor(entry, `access[${i}]`);
    roles.set(`${role.cluster}:${role.roleName}@${role.databaseName}/${role.collectionName ?? ''}`, role);
  });
  return [...roles.values()];
}
