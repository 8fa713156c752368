import { isConnectorError } from '../../../errors/connector-error.js';
import type { AdapterDeps } from '../../adapter.js';
import type { DatabaseAccessSettings } from '../model/settings.js';
import { issuePassword } from '../model/credential.js';
import { prepareCustomRoles } from '../atlas-writes/custom-roles.js';
import {
  createUser,
  firstGrantPlan,
  managedUser,
  newUserInput,
  planUserWrite,
  readUser,
  unreadableUserError,
  updateUser,
  type AtlasCtx,
  type Bookkeeping,
  type ManagedUser,
  type UserIdentity,
  type UserWrite,
} from '../atlas-writes/user-store.js';
import type { ValidatedGrant } from './grant-validation.js';
import type { GrantPayload } from '../model/payloads.js';
import { activeGrants, clustersNeeded, type GrantRecord } from '../model/user-model.js';
import { invalidRequest } from '../model/policy.js';
import { isClusterGone, isProjectGone, writeScoped } from '../atlas-writes/gone-clusters.js';
import { withheldRoles } from '../atlas-writes/withheld-roles.js';

/** What a strategy wrote: the caller waits for these clusters and builds the result. */
export interface GrantWrite {
  readonly username: string;
  /** Undefined when the user keeps its current password. */
  readonly password: string | undefined;
  readonly clusters: readonly string[];
  readonly deleteAfterDate: string;
}

export interface GrantInput {
  readonly settings: DatabaseAccessSettings;
  readonly payload: GrantPayload;
  readonly integrationId: string;
  readonly grant: ValidatedGrant;
  /** The job's user (`usernameForJob`), the one its resource key names. */
  readonly username: string;
}

export type GrantDeps = Pick<
  AdapterDeps,
  'atlas' | 'clock' | 'policy' | 'readiness' | 'random' | 'registerSecret'
>;

const dayMs = 86_400_000;

/**
 * Whether this grant issues a new password. Yes when no OTHER active grant exists (nobody holds a
 * working credential, or the previous one may never have been delivered); when this very grant set
 * the current password (a redelivery: its first result never arrived); or when the password is
 * older than `credentialRotationDays`. Otherwise the requester keeps the password they have.
 */
export function passwordDue(input: {
  readonly others: readonly GrantRecord[];
  readonly book: Bookkeeping;
  readonly grantKey: string;
  readonly nowMs: number;
  readonly rotationDays: number | undefined;
}): boolean {
  if (input.others.length === 0 || input.book.passwordGrant === input.grantKey) return true;
  if (input.rotationDays === undefined) return false;
  const rotatedAt = Date.parse(input.book.passwordRotatedAt ?? '');
  return !Number.isFinite(rotatedAt) || input.nowMs - rotatedAt >= input.rotationDays * dayMs;
}

function writeResult(username: string, password: string | undefined, plan: UserWrite): GrantWrite {
  return {
    username,
    password,
    clusters: plan.scopes.map((scope) => scope.name),
    deleteAfterDate: plan.deleteAfterDate,
  };
}

function identityOf(input: GrantInput): UserIdentity {
  return {
    integrationId: input.integrationId,
    requesterId: input.payload.requester.id,
    strategy: 'per-requester',
  };
}

async function createNew(input: GrantInput, deps: GrantDeps, ctx: AtlasCtx, username: string) {
  const { projectId, record, nowMs } = input.grant;
  const specs = input.grant.customRoles;
  await prepareCustomRoles(deps, ctx, { projectId, username, specs, grants: [record] });
  const password = issuePassword(deps);
  const plan = firstGrantPlan(identityOf(input), record, nowMs, input.settings.userCleanupDays);
  const user = newUserInput(projectId, username, input.payload.requester, password, plan);
  return (await createUser(deps, ctx, user)) ? writeResult(username, password, plan) : undefined;
}

/** Merges this grant into an existing user: one PATCH with the full next state. */
async function addToExisting(input: GrantInput, deps: GrantDeps, ctx: AtlasCtx, managed: ManagedUser) {
  const { projectId, record, nowMs } = input.grant;
  const others = activeGrants(managed.grants, nowMs).filter((grant) => grant.key !== record.key);
  const username = managed.user.username;
  const grants = [...others, record];
  await prepareCustomRoles(deps, ctx, { projectId, username, specs: input.grant.customRoles, grants });
  const rotationDays = input.settings.credentialRotationDays;
  const issue = passwordDue({ others, book: managed.book, grantKey: record.key, nowMs, rotationDays });
  const withheld = await withheldRoles(deps, ctx, projectId, managed.user, others);
  const password = issue ? issuePassword(deps) : undefined;
  const book = issue
    ? { ...managed.book, passwordRotatedAt: new Date(nowMs).toISOString(), passwordGrant: record.key }
    : managed.book;
  const plan = planUserWrite({
    identity: identityOf(input),
    grants,
    book,
    nowMs,
    cleanupDays: input.settings.userCleanupDays,
    fallbackClusters: [],
    withheld,
  });
  const clusters = await writeScoped(deps.atlas, ctx.signal, {
    projectId,
    clusters: plan.scopes.map((scope) => scope.name),
    send: (scopes) =>
      updateUser(deps, ctx, projectId, username, {
        ...plan,
        scopes,
        ...(password === undefined ? {} : { password }),
      }),
    onGone: (gone) => refuseGoneOwnCluster(record, projectId, gone),
  });
  return { ...writeResult(username, password, plan), clusters };
}

/**
 * Another grant's cluster that was deleted is dropped from the scopes; this grant's own (deleted
 * since it was looked up, within the cluster cache's minute) ends the grant as an unknown cluster.
 */
export function refuseGoneOwnCluster(record: GrantRecord, projectId: string, gone: readonly string[]): void {
  const own = clustersNeeded([record]).find((name) => gone.includes(name));
  if (own !== undefined) throw invalidRequest('access', `cluster ${own} not found in project ${projectId}`);
}

/**
 * per-requester: one stable user per requester and project (and cluster, on an atlas-project
 * integration or a deep-discovery sub-integration: `usernameForJob`). A missing user is created
 * with this grant; an existing one (including one a racing or redelivered attempt just created:
 * 409) gets this grant merged in, replacing any earlier record of the same grant, so redelivery
 * converges.
 */
export async function grantPerRequester(
  input: GrantInput,
  deps: GrantDeps,
  ctx: AtlasCtx,
): Promise<GrantWrite> {
  const { projectId } = input.grant;
  const username = input.username;
  let existing = await readUser(deps, ctx, projectId, username);
  if (existing === undefined) {
    const created = await createNew(input, deps, ctx, username);
    if (created) return created;
    existing = await readUser(deps, ctx, projectId, username);
  }
  if (existing === undefined) throw unreadableUserError(username);
  const managed = managedUser(existing, {
    requesterId: input.payload.requester.id,
    strategy: 'per-requester',
  });
  try {
    return await addToExisting(input, deps, ctx, managed);
  } catch (error) {
    if (!(await goneSinceRead(deps, ctx, projectId, username, error))) throw error;
    // Made again with this grant alone (and a new password: no other grant is left on it).
    const created = await createNew(input, deps, ctx, username);
    if (created) return created;
    throw unreadableUserError(username);
  }
}

/**
 * Whether the write was refused because the user went after this grant read it: Atlas deletes a
 * user at its `deleteAfterDate`, its last grant's end (when a requester often asks again), and a
 * sweep deletes an idle one. Failed for good as `not_found`, the grant would refuse access it may
 * give. Read again to tell it from a 404 about something else the write names.
 */
async function goneSinceRead(
  deps: GrantDeps,
  ctx: AtlasCtx,
  projectId: string,
  username: string,
  error: unknown,
): Promise<boolean> {
  if (!isConnectorError(error) || error.code !== 'not_found') return false;
  if (isClusterGone(error) || isProjectGone(error)) return false;
  return (await readUser(deps, ctx, projectId, username)) === undefined;
}
