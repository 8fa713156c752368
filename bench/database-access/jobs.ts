import { resourceKeyFor } from '../../src/adapters/database-access/model/user-model.js';
import { usernameFor, type UserStrategy } from '../../src/adapters/database-access/model/user-model.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';

/**
 * Grant and revoke jobs as the control plane enqueues them (`docs/database-access.md` §2), keyed
 * the way the connector serializes them: `resourceKeyFor(projectId, username)`.
 */
export interface Requester {
  readonly id: string;
  readonly email: string;
}

export interface GrantSpec {
  readonly integrationId: string;
  readonly strategy: UserStrategy;
  readonly grantId: string;
  readonly requester: Requester;
  readonly projectId: string;
  /** The access entry's cluster; for an atlas-project integration, its one cluster. */
  readonly cluster: string;
  /** atlas-multi-project integrations need the project in the payload. */
  readonly multiProject: boolean;
}

export const requester = (name: string): Requester => ({ id: `user-${name}`, email: `${name}@example.com` });

/** An atlas-project integration's per-requester user is per cluster (its one); multi-project's per project. */
function key(spec: GrantSpec): string {
  const cluster = spec.multiProject ? undefined : spec.cluster;
  return resourceKeyFor(spec.projectId, usernameFor(spec.strategy, spec.requester, spec.grantId, cluster));
}

export function grantJob(spec: GrantSpec): NewJobInput {
  return {
    type: 'grant',
    integrationId: spec.integrationId,
    resourceKey: key(spec),
    payload: {
      grantId: spec.grantId,
      requester: spec.requester,
      access: [{ cluster: spec.cluster, role: 'readWrite', database: 'sales' }],
      ttlSeconds: 3600,
      ...(spec.multiProject ? { projectId: spec.projectId } : {}),
    },
  };
}

export function revokeJob(spec: GrantSpec): NewJobInput {
  return {
    type: 'revoke',
    integrationId: spec.integrationId,
    resourceKey: key(spec),
    payload: {
      grantId: spec.grantId,
      requester: spec.requester,
      ...(spec.multiProject ? { projectId: spec.projectId } : {}),
    },
  };
}
