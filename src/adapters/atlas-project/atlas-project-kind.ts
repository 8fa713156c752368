import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps, ConnectionCheck, IntegrationAdapter } from '../adapter.js';
import { AtlasProjectConfig, type DatabaseAccessConfig } from '../database-access/model/settings.js';
import { discoverOperation } from '../database-access/discover/discover.js';
import { grantOperation } from '../database-access/grant/grant.js';
import { findCluster } from '../database-access/grant/grant-validation.js';
import { scopedOperation } from '../database-access/scope/project-scope.js';
import { renewOperation } from '../database-access/renew/renew.js';
import { revokeOperation } from '../database-access/revoke/revoke.js';
import { rotateOperation } from '../database-access/rotate/rotate.js';
import { sweepOperation } from '../database-access/sweep/sweep.js';

/** One project, one cluster: the shared database-access scope with exactly that project and cluster. */
export function atlasProjectScope(config: AtlasProjectConfig): DatabaseAccessConfig {
  const { projectId, clusterName, clusterType: _clusterType, ...common } = config;
  return { ...common, projectIds: [projectId], clusterName };
}

/** Reads the project and the cluster with the integration's key: proves access and the names. */
async function checkConnection(
  config: AtlasProjectConfig,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    const project = await deps.atlas.projects.get(config.projectId, { signal: ctx.signal });
    const cluster = await findCluster(deps, ctx, config.projectId, config.clusterName, 'clusterName');
    return {
      ok: true,
      detail: `project ${project.name} (${project.id}), cluster ${cluster.name} (${cluster.stateName ?? 'state unknown'})`,
    };
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: error.message };
  }
}

/** `atlas-project`: database users on one cluster of one project (project API key, GROUP_OWNER). */
export const atlasProjectAdapter: IntegrationAdapter<AtlasProjectConfig> = {
  kind: 'atlas-project',
  configSchema: AtlasProjectConfig,
  secretFields: [],
  checkConnection,
  handlers: {
    discover: scopedOperation(discoverOperation, atlasProjectScope),
    grant: scopedOperation(grantOperation, atlasProjectScope),
    revoke: scopedOperation(revokeOperation, atlasProjectScope),
    renew: scopedOperation(renewOperation, atlasProjectScope),
    rotate: scopedOperation(rotateOperation, atlasProjectScope),
    sweep: scopedOperation(sweepOperation, atlasProjectScope),
  },
};
