import type { ScopeRequest } from '../adapter.js';
import type { NamesProject } from '../database-access/database-operation.js';
import { invalidRequest } from '../database-access/model/policy.js';
import { connectionChoice, type ProjectScope, type ProjectsScope } from '../scope.js';
import type { AtlasMultiProjectConfig } from './atlas-multi-project-config.js';

type Request = ScopeRequest<AtlasMultiProjectConfig, NamesProject>;

/** The project a user job names: required, and inside the integration's allow-list when it has one. */
function namedProject({ config, payload }: Request): ProjectScope {
  const requested = payload.projectId;
  if (requested === undefined) {
    throw invalidRequest('projectId', 'is required for an atlas-multi-project integration');
  }
  if (config.projectIds !== undefined && !config.projectIds.includes(requested)) {
    throw invalidRequest(
      'projectId',
      `project ${requested} is not in this integration's projectIds allow-list`,
    );
  }
  return { kind: 'project', projectId: requested, ...connectionChoice(config) };
}

/** grant, revoke, renew, rotate: the one project the payload names, any of its clusters. */
export async function resolveMultiProjectUserScope(request: Request): Promise<ProjectScope> {
  return namedProject(request);
}

/** discover and sweep: the project the payload names, else the allow-list or every visible project. */
export async function resolveMultiProjectInventoryScope(
  request: Request,
): Promise<ProjectScope | ProjectsScope> {
  if (request.payload.projectId !== undefined) return namedProject(request);
  const { projectIds } = request.config;
  return {
    kind: 'projects',
    projects: projectIds === undefined ? 'every-visible-project' : { allowList: projectIds },
  };
}
