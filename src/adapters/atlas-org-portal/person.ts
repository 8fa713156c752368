import type { AtlasClient, OrgUser } from '../../atlas/index.js';
import { requireResourceKey } from '../resource-key.js';
import { policyDenial, type PolicyRule } from '../../errors/policy-denial.js';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import type { Policy } from '../../config/env.js';
import type { InvitationPacer } from './invitation-pacer.js';
import type { GrantIntent } from './payloads.js';
import { accessKey } from './roles.js';

/** The narrow ports every org-portal operation takes (Atlas resources, clock, policy, pacer). */
export interface PortalDeps {
  readonly atlas: Pick<AtlasClient, 'orgUsers' | 'projectUsers'>;
  readonly clock: Pick<Clock, 'now'>;
  readonly policy: Pick<
    Policy,
    'allowedProjectIds' | 'allowedOrgRoles' | 'allowedProjectRoles' | 'maxGrantTtlMs'
  >;
  readonly invitations: Pick<InvitationPacer, 'acquire' | 'holdOff'>;
}

/** The job-side context: abort signal and the fence check before every Atlas write. */
export interface PortalCtx {
  readonly signal: AbortSignal;
  /** The job's serialisation key (JobContext.resourceKey); absent outside a job. */
  readonly resourceKey?: string;
  beforeSideEffect(): void;
}

/** The one key every job about a person runs under, so the control plane serialises them. */
export function personKey(email: string): string {
  return `org-portal/${email.toLowerCase()}`;
}

/**
 * Refuses a job about `email` that runs under another key: two jobs of one person under different
 * keys (a differently cased e-mail, the control plane's default `job/<jobId>`) could run at once,
 * and a grant that reads the person while another one writes would take that one's membership or
 * invitation for someone else's and leave a role no record covers.
 */
export function checkPersonKey(ctx: Pick<PortalCtx, 'resourceKey'>, email: string): void {
  requireResourceKey(ctx, personKey(email), {
    what: "this person's key",
    shape: 'org-portal/<e-mail, lower-cased>',
  });
}

/** A grant also reads the earlier attempt's intent and records its own before writing. */
export interface GrantCtx extends PortalCtx {
  /** The latest intent an earlier attempt of this job recorded (JobContext.intent), or null. */
  readonly intent: unknown;
  readonly log: Pick<Logger, 'warn'>;
  recordIntent(intent: GrantIntent): Promise<void>;
}

/**
 * The person's ACTIVE or PENDING membership, found by e-mail (`listOrgUsers?username=`, one read).
 * EXPIRED or REJECTED invitations grant nothing and are replaced by a new invitation, so they
 * count as "not a member".
 */
export async function findPerson(
  deps: Pick<PortalDeps, 'atlas'>,
  ctx: PortalCtx,
  orgId: string,
  email: string,
): Promise<OrgUser | undefined> {
  const page = await deps.atlas.orgUsers.list(orgId, {
    username: email,
    orgMembershipStatuses: ['ACTIVE', 'PENDING'],
    signal: ctx.signal,
  });
  return page.results.find((u) => u.username.toLowerCase() === email.toLowerCase());
}

/** Every role the person holds directly, as access keys. */
export function heldAccess(user: OrgUser): Set<string> {
  const held = new Set(user.roles.orgRoles.map((role) => accessKey({ level: 'org', role: role as never })));
  for (const assignment of user.roles.groupRoleAssignments) {
    for (const role of assignment.groupRoles) {
      held.add(accessKey({ level: 'project', projectId: assignment.groupId, role }));
    }
  }
  return held;
}

export function projectRolesOf(user: OrgUser, projectId: string): string[] {
  return user.roles.groupRoleAssignments.find((a) => a.groupId === projectId)?.groupRoles ?? [];
}

export function membershipOf(user: OrgUser): 'active' | 'invited' {
  return user.orgMembershipStatus === 'ACTIVE' ? 'active' : 'invited';
}

/** Atlas answered 409: a concurrent change (the role or membership is there after all, say). */
export function isConflict(error: unknown): boolean {
  return isConnectorError(error) && error.code === 'conflict';
}

export function isAtlasCode(error: unknown, ...codes: string[]): boolean {
  return isConnectorError(error) && codes.includes(String(error.details.atlasErrorCode));
}

/** The person is gone from the org (left, removed, invitation lapsed): nothing left to remove. */
export function isPersonGone(error: unknown): boolean {
  return isAtlasCode(error, 'USER_NOT_FOUND', 'USER_NOT_IN_ORG', 'INVALID_USER_ID', 'RESOURCE_NOT_FOUND');
}

export function fieldError(
  code: 'invalid_request' | 'policy_denied',
  field: string,
  message: string,
  rule?: PolicyRule,
) {
  if (code === 'policy_denied') return policyDenial(field, message, rule);
  return new ConnectorError({ code, message: `${field}: ${message}`, details: { field } });
}
