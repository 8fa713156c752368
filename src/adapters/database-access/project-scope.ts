import type { Policy } from '../../config/env.js';
import { ConnectorError } from '../../errors/connector-error.js';
import type { AdapterOperation } from '../adapter.js';
import type { DatabaseAccessConfig } from './config.js';
import { checkProjectPolicy, invalidRequest } from './policy.js';
import { usernameFor, type Requester } from './user-model.js';

/**
 * The resource key the control plane leases on, and the worker serializes by, for every job that
 * reads-modifies-writes one database user (invariant 7): `<projectId>/<username>`. Two jobs with
 * the same key never run at once, so a user's role set is never written from two stale reads.
 */
export function resourceKeyFor(projectId: string, username: string): string {
  return `${projectId}/${username}`;
}

/**
 * The control plane leases by resource key, and serializes only what it keys alike: a job keyed
 * other than `<projectId>/<username>` could run beside another job on the same user and write
 * roles from a stale read. So a mismatched key is refused before any write (`invalid_job`).
 */
export function checkResourceKey(
  ctx: { readonly resourceKey?: string },
  projectId: string,
  username: string,
): void {
  const expected = resourceKeyFor(projectId, username);
  if (ctx.resourceKey === undefined || ctx.resourceKey === expected) return;
  throw new ConnectorError({
    code: 'invalid_job',
    message: `resourceKey: "${ctx.resourceKey}" is not this job's database user; expected "${expected}" (<projectId>/<username>, the username computed from the requester as documented in the README)`,
    details: { field: 'resourceKey', expected },
  });
}

/** The database user a job for this requester (and grant, per-grant) reads and writes. */
export function usernameForJob(
  config: Pick<DatabaseAccessConfig, 'userStrategy'>,
  requester: Requester,
  grantId?: string,
): string {
  return usernameFor(
    config.userStrategy,
    requester,
    config.userStrategy === 'per-grant' ? grantId : undefined,
  );
}

/**
 * The project a job acts on. atlas-project (the config names its one cluster): the integration's
 * project, and a payload `projectId` must match it. atlas-multi-project: the payload must name the
 * project, inside the integration's allow-list when it has one.
 */
export function resolveProjectId(config: DatabaseAccessConfig, requested: string | undefined): string {
  const allowed = config.projectIds;
  if (config.clusterName !== undefined) {
    const own = allowed?.[0];
    if (own === undefined) throw invalidRequest('projectId', 'the integration names no project');
    if (requested !== undefined && requested !== own) {
      throw invalidRequest('projectId', `${requested} is not this integration's project ${own}`);
    }
    return own;
  }
  if (requested === undefined) {
    throw invalidRequest('projectId', 'is required for an atlas-multi-project integration');
  }
  if (allowed !== undefined && !allowed.includes(requested)) {
    throw invalidRequest(
      'projectId',
      `project ${requested} is not in this integration's projectIds allow-list`,
    );
  }
  return requested;
}

/** The project, also checked against the connector's local policy (grant, renew and rotate). */
export function projectForAccess(
  config: DatabaseAccessConfig,
  policy: Policy,
  requested: string | undefined,
): string {
  const projectId = resolveProjectId(config, requested);
  checkProjectPolicy(policy, projectId);
  return projectId;
}

/** Runs a database-access operation for a kind whose config maps onto the shared shape. */
export function scopedOperation<C>(
  operation: AdapterOperation<DatabaseAccessConfig>,
  toScope: (config: C) => DatabaseAccessConfig,
): AdapterOperation<C> {
  return {
    payloadSchema: operation.payloadSchema,
    run: (input, deps, ctx) => operation.run({ ...input, config: toScope(input.config) }, deps, ctx),
  };
}
