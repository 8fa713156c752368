import type { AtlasClient } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { Readiness } from '../database-access/atlas-writes/readiness.js';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import type { JobContext } from '../../worker/job-context.js';
import {
  discoveryPurpose,
  discoveryUsernamePrefix,
  labelKeys,
  managedByValue,
} from '../database-access/model/user-model.js';

/**
 * The short-lived user the driver path logs in with: `readAnyDatabase@admin`, scoped to the one
 * cluster, labelled, `deleteAfterDate` 30 minutes ahead (Atlas removes it even if the connector
 * dies mid-way), used only once the project reports APPLIED, and deleted right after use.
 */
export const discoveryUserTtlMs = 30 * 60_000;

export type DiscoveryUserAtlas = {
  readonly databaseUsers: Pick<AtlasClient['databaseUsers'], 'create' | 'delete'>;
};

export interface DiscoveryUserDeps {
  readonly atlas: DiscoveryUserAtlas;
  readonly clock: Clock;
  readonly random: Random;
  /** The credential's readiness tracker: the write takes turns with polls, then waits for APPLIED. */
  readonly readiness: Pick<Readiness, 'writeChange' | 'waitUntilApplied'>;
  readonly registerSecret: (value: string) => void;
}

export interface DiscoveryLogin {
  readonly username: string;
  readonly password: string;
}

const deleteTimeoutMs = 30_000;

async function deleteQuietly(deps: DiscoveryUserDeps, projectId: string, username: string): Promise<void> {
  // Its own signal: a job cancelled mid-listing still removes the user (deleteAfterDate is the backstop).
  try {
    await deps.atlas.databaseUsers.delete(projectId, 'admin', username, {
      signal: AbortSignal.timeout(deleteTimeoutMs),
    });
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    if (error.code === 'not_found') return;
    // That signal is the delete's own deadline (Atlas kept answering 429, say), never the job's:
    // reported as 'cancelled' it would end the whole discovery instead of this cluster's reading.
    if (error.code !== 'cancelled') throw error;
    throw new ConnectorError({
      code: 'timeout',
      message: `discovery user ${username} in project ${projectId} could not be deleted within ${deleteTimeoutMs / 1000} s; Atlas removes it at its deleteAfterDate`,
      details: { projectId },
    });
  }
}

interface DiscoveryTarget {
  readonly projectId: string;
  readonly clusterName: string;
  readonly integrationId: string;
}

function discoveryUser(
  deps: Pick<DiscoveryUserDeps, 'clock'>,
  target: DiscoveryTarget,
  login: DiscoveryLogin,
) {
  return {
    groupId: target.projectId,
    username: login.username,
    databaseName: 'admin' as const,
    password: login.password,
    roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
    scopes: [{ name: target.clusterName, type: 'CLUSTER' as const }],
    labels: [
      { key: labelKeys.managedBy, value: managedByValue },
      { key: labelKeys.integration, value: target.integrationId.slice(0, 255) },
      { key: labelKeys.purpose, value: discoveryPurpose },
    ],
    deleteAfterDate: new Date(deps.clock.now() + discoveryUserTtlMs).toISOString(),
    description: 'atlas-jit-connector deep discovery; deleted after use',
  };
}

/**
 * Creates the user, waits for APPLIED, runs `use`, and deletes the user whatever happened, also
 * when the create failed after it was sent.
 */
export async function withDiscoveryUser<T>(
  deps: DiscoveryUserDeps,
  ctx: Pick<JobContext, 'signal' | 'beforeSideEffect'>,
  target: DiscoveryTarget,
  use: (login: DiscoveryLogin) => Promise<T>,
): Promise<T> {
  const { projectId, clusterName } = target;
  const login = {
    username: `${discoveryUsernamePrefix}${deps.random.hex(6)}`,
    password: deps.random.password(32),
  };
  deps.registerSecret(login.password);
  const user = discoveryUser(deps, target, login);
  // Once sent, a create whose answer is lost (timeout, reset, cancel) may still have made the
  // user: from then on it is deleted whatever happens (a 404 means it was never made).
  let sent = false;
  try {
    await deps.readiness.writeChange(ctx, projectId, () => {
      ctx.beforeSideEffect();
      sent = true;
      return deps.atlas.databaseUsers.create(projectId, user, { signal: ctx.signal });
    });
    await deps.readiness.waitUntilApplied(ctx, projectId, [clusterName]);
    return await use(login);
  } finally {
    if (sent) await deleteQuietly(deps, projectId, login.username);
  }
}
