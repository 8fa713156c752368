import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps, ConnectionCheck, IntegrationAdapter } from '../adapter.js';
import { AtlasMultiProjectConfig, type DatabaseAccessConfig } from '../database-access/model/settings.js';
import { discoverOperation } from '../database-access/discover/discover.js';
import { grantOperation } from '../database-access/grant/grant.js';
import { scopedOperation } from '../database-access/scope/project-scope.js';
import { renewOperation } from '../database-access/renew/renew.js';
import { revokeOperation } from '../database-access/revoke/revoke.js';
import { rotateOperation } from '../database-access/rotate/rotate.js';
import { sweepOperation } from '../database-access/sweep/sweep.js';

/** Several projects: the allow-list (or every project the key sees), any cluster in them. */
export function atlasMultiProjectScope(config: AtlasMultiProjectConfig): DatabaseAccessConfig {
  const { projectIds, ...common } = config;
  return { ...common, ...(projectIds === undefined ? {} : { projectIds }) };
}

async function describeProjects(config: AtlasMultiProjectConfig, deps: AdapterDeps, ctx: JobContext) {
  const signal = ctx.signal;
  if (config.projectIds === undefined) {
    const page = await deps.atlas.projects.list({ itemsPerPage: 100, signal });
    if (page.results.length === 0) return { ok: false, detail: 'the API key can see no project' };
    const count = page.hasNext ? `${page.totalCount ?? page.results.length}+` : `${page.results.length}`;
    return { ok: true, detail: `${count} project(s) visible to the API key` };
  }
  const names: string[] = [];
  for (const projectId of config.projectIds) {
    const project = await deps.atlas.projects.get(projectId, { signal });
    names.push(`${project.name} (${project.id})`);
  }
  return { ok: true, detail: `projects ${names.join(', ')}` };
}

/** Reads every allow-listed project (or lists the visible ones) with the integration's key. */
async function checkConnection(
  config: AtlasMultiProjectConfig,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    return await describeProjects(config, deps, ctx);
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: error.message };
  }
}

/** `atlas-multi-project`: database users in any of several projects (one project-owner key). */
export const atlasMultiProjectAdapter: IntegrationAdapter<AtlasMultiProjectConfig> = {
  kind: 'atlas-multi-project',
  configSchema: AtlasMultiProjectConfig,
  secretFields: [],
  checkConnection,
  handlers: {
    discover: scopedOperation(discoverOperation, atlasMultiProjectScope),
    grant: scopedOperation(grantOperation, atlasMultiProjectScope),
    revoke: scopedOperation(revokeOperation, atlasMultiProjectScope),
    renew: scopedOperation(renewOperation, atlasMultiProjectScope),
    rotate: scopedOperation(rotateOperation, atlasMultiProjectScope),
    sweep: scopedOperation(sweepOperation, atlasMultiProjectScope),
  },
};
