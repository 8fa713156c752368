import type { DatabaseUserRole } from '../../../atlas/index.js';
import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import type { OneProjectScope } from '../../scope.js';
import { databaseOperation, type DatabaseJob } from '../database-operation.js';
import { credentialFields, type CredentialFields } from '../model/credential.js';
import { grantPerGrant } from './grant-per-grant.js';
import {
  grantPerRequester,
  refuseGoneOwnCluster,
  type GrantInput,
  type GrantWrite,
} from './grant-per-requester.js';
import { holdsCustomRoles } from '../atlas-writes/custom-roles.js';
import { goneClusters, isClusterGone } from '../atlas-writes/gone-clusters.js';
import { toAtlasRoles } from '../atlas-writes/user-store.js';
import { validateGrant } from './grant-validation.js';
import { GrantPayload } from '../model/payloads.js';
import {
  checkResourceKey,
  clustersNeeded,
  integrationKey,
  rolesNeeded,
  usernameForJob,
} from '../model/user-model.js';

/**
 * What a grant returns. The credential is `password` (plaintext), `credential` (a compact JWE
 * of `{username, password}` when the job carried a recipient key; the password then appears
 * nowhere else) or `passwordUnchanged: true` (per-requester, when the requester keeps theirs).
 */
export type GrantResult = CredentialFields & {
  readonly username: string;
  /** For the integration's connection type, of the first access entry's cluster. */
  readonly connectionString: string;
  /** Per cluster named in the grant. */
  readonly connectionStrings: Readonly<Record<string, string>>;
  /** The roles this grant gives. */
  readonly roles: readonly DatabaseUserRole[];
  readonly expiresAt: string;
  /** When Atlas deletes the user unless a renew or sweep rolls it forward (at most 7 days out). */
  readonly deleteAfterDate: string;
  readonly customAccessDetails?: string;
};

/**
 * validate (no writes) → write the user (per strategy) → wait until every scoped cluster says
 * APPLIED → the result. Any failure before the write leaves Atlas untouched; any failure after it
 * is retryable and a redelivery converges on the same user, roles and labels (invariant 6).
 */
export async function runGrant(
  job: DatabaseJob<OneProjectScope, GrantPayload>,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<GrantResult> {
  const { settings, payload, integrationId } = job;
  // The key names the user from the payload alone: a job keyed otherwise (another project's user,
  // say) is refused before it spends the project's rate budget on validation reads.
  const username = usernameForJob(settings.userStrategy, payload.requester, payload.grantId, job.scope);
  checkResourceKey(ctx, job.scope.projectId, username);
  const validated = await validateGrant(job.scope, payload, deps, ctx);
  // The record names this integration: each sweep rolls and repairs its own integration's grants.
  const record = { ...validated.record, integration: integrationKey(integrationId) };
  const grant = { ...validated, record };
  const input: GrantInput = { settings, payload, integrationId, grant, username };
  const written = await writeGrant(input, deps, ctx);
  ctx.log.info(
    {
      projectId: grant.projectId,
      username: written.username,
      passwordIssued: written.password !== undefined,
    },
    'database access granted',
  );
  return {
    username: written.username,
    ...(await credentialFields(written.username, written.password, grant.recipient)),
    connectionString: grant.connectionString,
    connectionStrings: grant.connectionStrings,
    roles: toAtlasRoles(rolesNeeded([grant.record])),
    expiresAt: new Date(grant.record.expiresAtMs).toISOString(),
    deleteAfterDate: written.deleteAfterDate,
    ...(settings.customAccessDetails === undefined
      ? {}
      : { customAccessDetails: settings.customAccessDetails }),
  };
}

/**
 * The strategy's user write and the wait until it is applied. A sweep may delete a connector role
 * no user holds yet between this grant's role check and its user write: Atlas then refuses the
 * write (`ATLAS_INVALID_ROLE`). A sweep that listed the users before this write may also delete
 * the role just after it: where Atlas refuses only a delete that leaves a user with no role, the
 * delete strips the role from the user, so the user is read back once applied. Either way the
 * write is idempotent and runs once more, which recreates the role; a second miss is a retryable
 * conflict.
 */
async function writeGrant(input: GrantInput, deps: AdapterDeps, ctx: JobContext): Promise<GrantWrite> {
  const { projectId, customRoles } = input.grant;
  const write = async () => {
    const written = await refusingGoneCluster(input, deps, ctx, () =>
      input.settings.userStrategy === 'per-grant'
        ? grantPerGrant(input, deps, ctx)
        : grantPerRequester(input, deps, ctx),
    );
    await deps.readiness.waitUntilApplied(ctx, projectId, written.clusters);
    return written;
  };
  if (customRoles.length === 0) return write();
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    try {
      const written = await write();
      if (await holdsCustomRoles(deps, ctx, projectId, written.username, customRoles)) return written;
      ctx.log.warn({ projectId }, 'a connector role was deleted from under the user; writing again');
    } catch (error) {
      if (!isRoleGone(error)) throw error;
      ctx.log.warn({ projectId }, 'a connector role vanished during the grant; writing again');
    }
  }
  throw new ConnectorError({
    code: 'conflict',
    retryable: true,
    message: `a custom role of this grant was removed again while it was assigned in project ${projectId}; the job is retried and recreates it`,
    details: { projectId },
  });
}

/**
 * A write scoped to this grant's clusters alone (a new user; a per-grant user's redelivery) that
 * Atlas refuses because one of them was deleted since its cached read (the cluster cache's minute)
 * is refused as an unknown cluster, naming it, as when the cluster read itself answers 404.
 */
async function refusingGoneCluster<T>(
  input: GrantInput,
  deps: AdapterDeps,
  ctx: JobContext,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isClusterGone(error)) throw error;
    const { projectId, record } = input.grant;
    const gone = await goneClusters(deps.atlas, projectId, clustersNeeded([record]), ctx.signal);
    refuseGoneOwnCluster(record, projectId, gone);
    throw error;
  }
}

function isRoleGone(error: unknown): boolean {
  return isConnectorError(error) && error.details['atlasErrorCode'] === 'ATLAS_INVALID_ROLE';
}

export const grantOperation = databaseOperation(GrantPayload, runGrant);
