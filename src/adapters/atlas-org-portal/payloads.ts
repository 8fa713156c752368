import { z } from 'zod';
import { Access, projectIdSchema } from './roles.js';

/**
 * Job payloads of `atlas-org-portal` (docs/org-portal.md). The control plane is the ledger: a
 * grant's result says what it added, and every later job about that person carries the control
 * plane's records of the integration's unrevoked grants (`grants`), so the connector stays stateless.
 */

const grantId = z.string().min(1).max(200);
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

/** What a grant created besides roles: removed on revoke only while still pending/needed. */
export const Created = z.object({
  /** The org invitation (createOrgUser, or addGroupUsers for an outsider). */
  invitation: z.boolean().default(false),
  /** Projects the person had no membership in before the grant. */
  projectMemberships: z.array(projectIdSchema).default([]),
});
export type Created = z.infer<typeof Created>;

/** One unrevoked grant as the control plane recorded it (its payload's requester, its result). */
export const GrantRecord = z.object({
  grantId,
  email: z.email({ message: 'must be an e-mail address' }),
  userId: z.string().optional(),
  expiresAt: isoTime,
  added: z.array(Access),
  created: Created.default({ invitation: false, projectMemberships: [] }),
  /** The control plane made this record from a grant's intent: the grant never reported a result. */
  fromIntent: z.boolean().optional(),
});
export type GrantRecord = z.infer<typeof GrantRecord>;

/**
 * What a grant attempt is about to change, recorded in the control plane before its first Atlas
 * write (protocol feature `job-intent`). A later attempt of the same job gets it back and counts the
 * intended roles it finds held as its own; a grant job that ends without a result becomes a ledger
 * record from it, so a revoke or a sweep still removes what may have landed.
 */
export const GrantIntent = z.object({
  userId: z.string().optional(),
  expiresAt: isoTime,
  /** Every role the grant's result would list in `added`: the roles about to be written and its share. */
  added: z.array(Access),
  /** The invitation and project memberships about to be created (and those an earlier attempt intended). */
  created: Created,
});
export type GrantIntent = z.infer<typeof GrantIntent>;

/** The person's other unrevoked grants on a grant (required on revoke, renew and sweep). */
const grants = z.array(GrantRecord).max(10_000).default([]);

/**
 * A revoke, renew or sweep must carry the ledger: without it every grant would look unknown, so a
 * revoke would answer `already_revoked` and leave the access in place for good. A renew's records
 * are capped (refusing one takes no access away); a revoke's and a sweep's are bounded by the
 * payload limit alone (MAX_PAYLOAD_BYTES): refused for its size, a revoke could never run.
 */
const ledger = z.array(GrantRecord, {
  error: (issue) =>
    issue.input === undefined
      ? "is required for this kind: the control plane's records of the person's unrevoked grants (docs/protocol.md §4.10)"
      : undefined,
});
const requiredGrants = ledger.max(10_000);

const ttl = {
  ttlSeconds: z.number().int().positive().optional(),
  expiresAt: isoTime.optional(),
};

function oneExpiry(value: { ttlSeconds?: number | undefined; expiresAt?: string | undefined }): boolean {
  return (value.ttlSeconds === undefined) !== (value.expiresAt === undefined);
}
const expiryMessage = { message: 'give exactly one of ttlSeconds and expiresAt', path: ['ttlSeconds'] };

export const GrantPayload = z
  .object({
    grantId,
    requester: z.object({
      email: z.email({ message: 'must be an e-mail address' }),
      id: z.string().min(1).max(200).optional(),
    }),
    access: z.array(Access).min(1).max(50),
    ...ttl,
    grants,
  })
  .refine(oneExpiry, expiryMessage);
export type GrantPayload = z.infer<typeof GrantPayload>;

export const RevokePayload = z.object({ grantId, grants: ledger });
export type RevokePayload = z.infer<typeof RevokePayload>;

export const RenewPayload = z
  .object({ grantId, ...ttl, grants: requiredGrants })
  .refine(oneExpiry, expiryMessage);
export type RenewPayload = z.infer<typeof RenewPayload>;

/**
 * A sweep must carry the ledger: without it the connector cannot know what it added. Its size is
 * bounded by MAX_PAYLOAD_BYTES alone, as the control plane fills it (protocol §4.10): under a limit
 * of a few MiB a ledger hands more than 10 000 records, and a count cap would refuse every sweep.
 */
export const SweepPayload = z.object({ grants: ledger });
export type SweepPayload = z.infer<typeof SweepPayload>;

export interface GrantResult {
  readonly grantId: string;
  readonly userId: string;
  readonly username: string;
  readonly membership: 'active' | 'invited';
  /** The authoritative record of what this grant changed: revoke and sweep remove exactly these. */
  readonly added: readonly Access[];
  /** Requested roles the person already held independently of this connector. */
  readonly alreadyHeld: readonly Access[];
  readonly created: Created;
  readonly expiresAt: string;
  /** For an invitation: when it lapses if not accepted. */
  readonly invitationExpiresAt?: string;
  readonly note?: string;
  readonly customAccessDetails?: string;
}
