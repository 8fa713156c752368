import { ConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import { operation, type AdapterDeps } from '../adapter.js';
import type { DatabaseAccessConfig } from './config.js';
import { credentialFields, importRecipientKey, issuePassword, type CredentialFields } from './credential.js';
import { managedUser, readUser, scopeNames, updateUser } from './grant-user.js';
import { RotatePayload } from './payloads.js';
import { invalidRequest } from './policy.js';
import { checkResourceKey, projectForAccess } from './project-scope.js';
import { waitUntilApplied } from './readiness.js';
import { buildLabels, usernameFor } from './user-model.js';

export type RotateResult = CredentialFields & { readonly username: string };

/**
 * Issues a new password for a per-requester user (on demand, e.g. after a leak), records when, and
 * returns it once every scoped cluster has applied it. Grants, roles and expiry are unchanged.
 */
export async function runRotate(
  config: DatabaseAccessConfig,
  payload: RotatePayload,
  integrationId: string,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<RotateResult> {
  if (config.userStrategy !== 'per-requester') {
    throw invalidRequest(
      'userStrategy',
      'rotate applies to per-requester users; per-grant users get a fresh password per grant',
    );
  }
  const projectId = projectForAccess(config, deps.policy, payload.projectId);
  const recipient = payload.recipientPublicKey && (await importRecipientKey(payload.recipientPublicKey));
  const username = usernameFor('per-requester', payload.requester);
  checkResourceKey(ctx, projectId, username);
  const user = await readUser(deps, ctx, projectId, username);
  if (user === undefined) {
    throw new ConnectorError({
      code: 'not_found',
      message: `requester has no database user ${username} in project ${projectId} to rotate`,
      details: { projectId, username },
    });
  }
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
  await waitUntilApplied(deps, ctx, projectId, scopeNames(user));
  ctx.log.info({ projectId, username }, 'database user password rotated');
  return { username, ...(await credentialFields(username, password, recipient)) };
}

export const rotateOperation = operation<DatabaseAccessConfig, typeof RotatePayload>(
  RotatePayload,
  ({ config, payload, integration }, deps, ctx) => runRotate(config, payload, integration.id, deps, ctx),
);
