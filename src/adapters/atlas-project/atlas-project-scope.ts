import type { ScopeRequest } from '../adapter.js';
import type { NamesProject } from '../database-access/database-operation.js';
import { invalidRequest } from '../database-access/model/policy.js';
import { connectionChoice, type ProjectClusterScope } from '../scope.js';
import type { AtlasProjectConfig } from './atlas-project-config.js';

/** The integration's own scope: its one project and cluster, with its connection choice. */
export function atlasProjectScope(config: AtlasProjectConfig): ProjectClusterScope {
  return {
    kind: 'project-cluster',
    projectId: config.projectId,
    clusterName: config.clusterName,
    ...connectionChoice(config),
  };
}

/**
 * Every `atlas-project` job acts on the integration's one cluster. A payload may repeat the
 * project; naming another one is refused. (Access entries naming another cluster are refused by
 * the grant, against this scope's cluster.)
 */
export async function resolveAtlasProjectScope(
  request: ScopeRequest<AtlasProjectConfig, NamesProject>,
): Promise<ProjectClusterScope> {
  const { config, payload } = request;
  const requested = payload.projectId;
  if (requested !== undefined && requested !== config.projectId) {
    throw invalidRequest('projectId', `${requested} is not this integration's project ${config.projectId}`);
  }
  return atlasProjectScope(config);
}
