import type { ScopeRequest } from '../adapter.js';
import type { NamesProject } from '../database-access/database-operation.js';
import { invalidRequest } from '../database-access/model/policy.js';
import { connectionChoice, type ProjectScope, type ProjectsScope } from '../scope.js';
import type { AtlasMultiProjectConfig } from './atlas-multi-project-config.js';

type Request = ScopeRequest<AtlasMultiProjectConfig, NamesProject>;

/** The project a job names: required. */
function requestedProject({ config, payload }: Request): ProjectScope {
  const requested = payload.projectId;
  if (requested === undefined) {
    throw invalidRequest('projectId', 'is required for an atlas-multi-project integration');
  }
  return { kind: 'project', projectId: requested, ...connectionChoice(config) };
}

/** The project a user job names: required, and inside the integration's allow-list when it has one. */
function namedProject(request: Request): ProjectScope {
  const scope = requestedProject(request);
  const { projectIds } = request.config;
  if (projectIds !== undefined && !projectIds.includes(scope.projectId)) {
    throw invalidRequest(
      'projectId',
      `project ${scope.projectId} is not in this integration's projectIds allow-list`,
    );
  }
  return scope;
}

/** grant, renew, rotate: the one project the payload names, any of its clusters. */
export async function resolveMultiProjectUserScope(request: Request): Promise<ProjectScope> {
  return namedProject(request);
}

/**
 * revoke: the one project the payload names, allow-listed or not. The allow-list limits where
 * access may be handed out; a project taken off it keeps the users its grants made, and taking
 * that access away must stay possible (as the local policy never blocks a revoke). A key that
 * lost the project fails the revoke with Atlas's answer (non-retryable), not a loop.
 */
export async function resolveMultiProjectRevokeScope(request: Request): Promise<ProjectScope> {
  return requestedProject(request);
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

/**
 * sweep: as discover, except that a project taken off `projectIds` is still reached (for this
 * integration's own users only, `removalReach`): the allow-list limits where access is handed
 * out, and an ended grant made there before must still lose its roles. A scheduled sweep then
 * also looks at every project the key sees; a sweep naming such a project reaches that one.
 */
export async function resolveMultiProjectSweepScope(request: Request): Promise<ProjectScope | ProjectsScope> {
  const { projectIds } = request.config;
  const requested = request.payload.projectId;
  if (projectIds === undefined) return resolveMultiProjectInventoryScope(request);
  if (requested === undefined) {
    return { kind: 'projects', projects: { allowList: projectIds }, removalReach: 'every-visible-project' };
  }
  if (projectIds.includes(requested)) return requestedProject(request);
  return { kind: 'projects', projects: { allowList: [] }, removalReach: { projectIds: [requested] } };
}
