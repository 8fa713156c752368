import type { Project } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AtlasCredential, CommonDeps, ConnectionCheck, IntegrationAdapter } from '../adapter.js';
import { databaseAccessOperations } from '../database-access/database-access-operations.js';
import type { DatabaseAccessOperationName } from '../database-access/operation-names.js';
import { settingsOf } from '../database-access/model/settings.js';
import type { AtlasMultiProjectConfig } from './atlas-multi-project-config.js';
import {
  resolveMultiProjectInventoryScope,
  resolveMultiProjectRevokeScope,
  resolveMultiProjectSweepScope,
  resolveMultiProjectUserScope,
} from './atlas-multi-project-scope.js';

/**
 * A failed read as the check's answer; a cancellation, or anything but a connector error, is thrown.
 * `where` names the allow-listed project read: Atlas's refusal may not (401/403
 * `USER_CANNOT_ACCESS_GROUP`: "User cannot access this group."), and with several projects the
 * operator must know which one to fix (assign the key there, or correct `projectIds`).
 */
function failedCheck(error: unknown, ctx: JobContext, where = ''): ConnectionCheck {
  if (!isConnectorError(error) || error.code === 'cancelled') throw error;
  return { ok: false, detail: `${where}${ctx.describe(error)}`, code: error.code };
}

async function describeProjects(
  config: AtlasMultiProjectConfig,
  credential: AtlasCredential,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  const signal = ctx.signal;
  const { atlas } = credential;
  if (config.projectIds === undefined) {
    const page = await atlas.projects.list({ itemsPerPage: 100, signal });
    if (page.results.length === 0) return { ok: false, detail: 'the API key can see no project' };
    const count = page.hasNext ? `${page.totalCount ?? page.results.length}+` : `${page.results.length}`;
    return { ok: true, detail: `${count} project(s) visible to the API key` };
  }
  const names: string[] = [];
  for (const projectId of config.projectIds) {
    let project: Project;
    try {
      project = await atlas.projects.get(projectId, { signal });
    } catch (error) {
      return failedCheck(error, ctx, `project ${projectId}: `);
    }
    names.push(`${project.name} (${project.id})`);
  }
  return { ok: true, detail: `projects ${names.join(', ')}` };
}

/** Reads every allow-listed project (or lists the visible ones) with the integration's key. */
async function checkConnection(
  config: AtlasMultiProjectConfig,
  credential: AtlasCredential,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    return await describeProjects(config, credential, ctx);
  } catch (error) {
    return failedCheck(error, ctx);
  }
}

/** The `atlas-multi-project` adapter, imported by the kind's first job (`atlas-multi-project-kind.ts`). */
export function createMultiProjectAdapter(
  deps: CommonDeps,
): IntegrationAdapter<AtlasMultiProjectConfig, DatabaseAccessOperationName> {
  return {
    operations: databaseAccessOperations(deps, {
      settings: settingsOf,
      user: resolveMultiProjectUserScope,
      revoke: resolveMultiProjectRevokeScope,
      inventory: resolveMultiProjectInventoryScope,
      sweep: resolveMultiProjectSweepScope,
    }),
    checkConnection,
  };
}
