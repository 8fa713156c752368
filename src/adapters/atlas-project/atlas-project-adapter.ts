import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AtlasCredential, CommonDeps, ConnectionCheck, IntegrationAdapter } from '../adapter.js';
import { databaseAccessOperations } from '../database-access/database-access-operations.js';
import type { DatabaseAccessOperationName } from '../database-access/operation-names.js';
import { settingsOf } from '../database-access/model/settings.js';
import { findCluster } from '../database-access/scope/cluster-lookup.js';
import type { AtlasProjectConfig } from './atlas-project-config.js';
import { resolveAtlasProjectScope } from './atlas-project-scope.js';

/** Reads the project and the cluster with the integration's key: proves access and the names. */
async function checkConnection(
  config: AtlasProjectConfig,
  credential: AtlasCredential,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    const project = await credential.atlas.projects.get(config.projectId, { signal: ctx.signal });
    const cluster = await findCluster(credential, ctx, config.projectId, config.clusterName, 'clusterName');
    return {
      ok: true,
      detail: `project ${project.name} (${project.id}), cluster ${cluster.name} (${cluster.stateName ?? 'state unknown'})`,
    };
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: ctx.describe(error), code: error.code };
  }
}

/** The `atlas-project` adapter, imported by the kind's first job (`atlas-project-kind.ts`). */
export function createAtlasProjectAdapter(
  deps: CommonDeps,
): IntegrationAdapter<AtlasProjectConfig, DatabaseAccessOperationName> {
  return {
    operations: databaseAccessOperations(deps, {
      // Its grants name its one cluster: after `clusterName` changed, sweep only takes away from
      // the users its grants made on the old one.
      settings: (config) => ({ ...settingsOf(config), clusterNames: [config.clusterName] }),
      user: resolveAtlasProjectScope,
      inventory: resolveAtlasProjectScope,
    }),
    checkConnection,
  };
}
