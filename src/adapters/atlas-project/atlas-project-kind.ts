import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AtlasCredential, ConnectionCheck, KindDefinition } from '../adapter.js';
import {
  databaseAccessOperationNames,
  databaseAccessOperations,
  type DatabaseAccessOperationName,
} from '../database-access/database-access-operations.js';
import { settingsOf } from '../database-access/model/settings.js';
import { findCluster } from '../database-access/scope/cluster-lookup.js';
import { AtlasProjectConfig } from './atlas-project-config.js';
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
    return { ok: false, detail: ctx.describe(error) };
  }
}

/** `atlas-project`: database users on one cluster of one project (project API key, GROUP_OWNER). */
export const atlasProjectKind: KindDefinition<AtlasProjectConfig, DatabaseAccessOperationName> = {
  kind: 'atlas-project',
  summary: 'database users on one cluster of one project',
  configSchema: AtlasProjectConfig,
  credential: {
    level: 'project',
    projects: 'one',
    role: 'GROUP_OWNER',
    leastPrivilege: ['GROUP_DATABASE_ACCESS_ADMIN', 'GROUP_READ_ONLY'],
    create:
      'atlas projects apiKeys create --projectId <projectId> --role GROUP_OWNER --desc atlas-jit-connector',
  },
  operations: databaseAccessOperationNames,
  redactFields: [],
  create: (deps) => ({
    operations: databaseAccessOperations(deps, {
      // Its grants name its one cluster: after `clusterName` changed, sweep only takes away from
      // the users its grants made on the old one.
      settings: (config) => ({ ...settingsOf(config), clusterNames: [config.clusterName] }),
      user: resolveAtlasProjectScope,
      inventory: resolveAtlasProjectScope,
    }),
    checkConnection,
  }),
};
