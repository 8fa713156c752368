import { ConnectorError } from '../../../errors/connector-error.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import type { OneProjectScope } from '../../scope.js';
import { databaseOperation, type DatabaseJob } from '../database-operation.js';
import {
  credentialFields,
  importRecipientKey,
  issuePassword,
  type CredentialFields,
} from '../model/credential.js';
import { managedUser, readUser, scopeNames, updateUser } from '../atlas-writes/user-store.js';
import { RotatePayload } from '../model/payloads.js';
import { checkProjectPolicy, invalidRequest } from '../model/policy.js';
import {
  buildLabels,
  checkResourceKey,
  userClusterOf,
  usernameFor,
  type Requester,
} from '../model/user-model.js';

export type RotateResult = CredentialFields & { readonly username: string };

/**
 * Rotate acts on the job's own user only. Through an integration whose users are per cluster, a
 * requester may still hold a project-wide user made before per-cluster users: it is not rotated,
 * and the message says so and what takes its password out of use.
 */
function noUserError(projectId: string, username: string, cluster: string | undefined, requester: Requester) {
  const projectWide = cluster === undefined ? undefined : usernameFor('per-requester', requester);
  const older =
    projectWide === undefined
      ? ''
      : `; a user made before per-cluster users (${projectWide}) is not rotated: revoke its grants and grant again through this integration, which creates ${username} with a new password`;
  return new ConnectorError({
    code: 'not_found',
    message: `requester has no database user ${username} in project ${projectId} to rotate${older}`,
    details: { projectId, username },
  });
}

/**
 * Issues a new password for a per-requester user (on demand, e.g. after a leak), records when, and
 * returns it once every scoped cluster has applied it. Grants, roles and expiry are unchanged.
 */
export async function runRotate(
  job: DatabaseJob<OneProjectScope, RotatePayload>,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<RotateResult> {
  const { payload, integrationId } = job;
  if (job.settings.userStrategy !== 'per-requester') {
    throw invalidRequest(
      'userStrategy',
      'rotate applies to per-requester users; per-grant users get a fresh password per grant',
    );
  }
  const projectId = job.scope.projectId;
  checkProjectPolicy(deps.policy, projectId);
  const recipient = payload.recipientPublicKey && (await importRecipientKey(payload.recipientPublicKey));
  const cluster = userClusterOf(job.scope);
  const username = usernameFor('per-requester', payload.requester, undefined, cluster);
  checkResourceKey(ctx, projectId, username);
  const user = await readUser(deps, ctx, projectId, username);
  if (user === undefined) throw noUserError(projectId, username, cluster, payload.requester);
  const managed = managedUser(user, { requesterId: payload.requester.id, strategy: 'per-requester' });
  const password = issuePassword(deps);
  const labels = buildLabels({
    integrationId,
    requesterId: payload.requester.id,
    strategy: 'per-requester',
    grants: managed.grants,
    lastRevokedAt: managed.book.lastRevokedAt,
    passwordRotatedAt: new Date(deps.clock.now()).toISOString(),
  });
  await updateUser(deps, ctx, projectId, username, { password, labels });
  await deps.readiness.waitUntilApplied(ctx, projectId, scopeNames(user));
  ctx.log.info({ projectId, username }, 'database user password rotated');
  return { username, ...(await credentialFields(username, password, recipient)) };
}

export const rotateOperation = databaseOperation(RotatePayload, runRotate);
