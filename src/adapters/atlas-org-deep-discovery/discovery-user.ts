import type { AtlasClient } from '../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import type { JobContext } from '../../worker/job-context.js';
import { labelKeys, managedByValue } from '../database-access/user-model.js';

/**
 * The short-lived user the driver path logs in with: `readAnyDatabase@admin`, scoped to the one
 * cluster, labelled, `deleteAfterDate` 30 minutes ahead (Atlas removes it even if the connector
 * dies mid-way), used only once the project reports APPLIED, and deleted right after use.
 */
export const discoveryUserTtlMs = 30 * 60_000;
const pollMs = 250;

export type DiscoveryUserAtlas = {
  readonly databaseUsers: Pick<AtlasClient['databaseUsers'], 'create' | 'delete'>;
  readonly clusters: Pick<AtlasClient['clusters'], 'status'>;
};

export interface DiscoveryUserDeps {
  readonly atlas: DiscoveryUserAtlas;
  readonly clock: Clock;
  readonly random: Random;
  readonly readyTimeoutMs: number;
  readonly registerSecret: (value: string) => void;
}

export interface DiscoveryLogin {
  readonly username: string;
  readonly password: string;
}

async function waitApplied(deps: DiscoveryUserDeps, projectId: string, cluster: string, signal: AbortSignal) {
  const deadline = deps.clock.monotonic() + deps.readyTimeoutMs;
  for (;;) {
    const status = await deps.atlas.clusters.status(projectId, cluster, { signal });
    if (status.changeStatus === 'APPLIED') return;
    if (deps.clock.monotonic() >= deadline) {
      throw new ConnectorError({
        code: 'not_ready',
        message: `the discovery user on ${cluster} was not APPLIED within ${deps.readyTimeoutMs} ms`,
      });
    }
    await deps.clock.sleep(pollMs, signal);
  }
}

async function deleteQuietly(deps: DiscoveryUserDeps, projectId: string, username: string): Promise<void> {
  // Its own signal: a job cancelled mid-listing still removes the user (deleteAfterDate is the backstop).
  try {
    await deps.atlas.databaseUsers.delete(projectId, 'admin', username, {
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    if (!isConnectorError(error) || error.code !== 'not_found') throw error;
  }
}

/** Creates the user, waits for APPLIED, runs `use`, and deletes the user whatever happened. */
export async function withDiscoveryUser<T>(
  deps: DiscoveryUserDeps,
  ctx: Pick<JobContext, 'signal' | 'beforeSideEffect'>,
  target: { readonly projectId: string; readonly clusterName: string; readonly integrationId: string },
  use: (login: DiscoveryLogin) => Promise<T>,
): Promise<T> {
  const username = `jit-discovery-${deps.random.hex(6)}`;
  const password = deps.random.password(32);
  deps.registerSecret(password);
  const deleteAfterDate = new Date(deps.clock.now() + discoveryUserTtlMs).toISOString();
  ctx.beforeSideEffect();
  await deps.atlas.databaseUsers.create(
    target.projectId,
    {
      groupId: target.projectId,
      username,
      databaseName: 'admin',
      password,
      roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
      scopes: [{ name: target.clusterName, type: 'CLUSTER' }],
      labels: [
        { key: labelKeys.managedBy, value: managedByValue },
        { key: labelKeys.integration, value: target.integrationId.slice(0, 255) },
        { key: 'jit-purpose', value: 'discovery' },
      ],
      deleteAfterDate,
      description: 'atlas-jit-connector deep discovery; deleted after use',
    },
    { signal: ctx.signal },
  );
  try {
    await waitApplied(deps, target.projectId, target.clusterName, ctx.signal);
    return await use({ username, password });
  } finally {
    await deleteQuietly(deps, target.projectId, username);
  }
}
