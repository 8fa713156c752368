import type { Policy } from '../config/env.js';
import { ConnectorError } from '../errors/connector-error.js';
import { policyDenial } from '../errors/policy-denial.js';

/**
 * The latest end a grant can have: the last instant of year 9999. Past it, an ISO 8601 date-time
 * takes a six-digit year (`+010000-…`), which no date-time reader (the org-portal ledger's record
 * schema among them) takes back, and from +275760 on no `Date` can hold it at all. Only a
 * POLICY_MAX_GRANT_TTL far beyond any real need (a bare number of seconds meant as "no limit")
 * lets a request get there.
 */
export const latestGrantEndMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface GrantTiming {
  readonly ttlSeconds?: number | undefined;
  readonly expiresAt?: string | undefined;
}

function invalidRequest(field: string, message: string): ConnectorError {
  return new ConnectorError({ code: 'invalid_request', message: `${field}: ${message}`, details: { field } });
}

/**
 * A grant's (or renewal's) end, bounded by POLICY_MAX_GRANT_TTL from now, for every kind. Longer
 * than Atlas's 7-day `deleteAfterDate` window is fine for a database user: the date is clamped and
 * rolled forward (invariant 1). Checked before any Atlas call: an end found unrepresentable only
 * when the result is written failed the job after its writes, leaving access no record could end.
 */
export function grantExpiryMs(
  timing: GrantTiming,
  nowMs: number,
  policy: Pick<Policy, 'maxGrantTtlMs'>,
): number {
  const field = timing.ttlSeconds === undefined ? 'expiresAt' : 'ttlSeconds';
  const expiresAtMs =
    timing.ttlSeconds === undefined ? Date.parse(timing.expiresAt ?? '') : nowMs + timing.ttlSeconds * 1000;
  if (!Number.isFinite(expiresAtMs))
    throw invalidRequest(field, 'one of ttlSeconds or expiresAt is required');
  const ttlMs = expiresAtMs - nowMs;
  if (ttlMs <= 0) throw policyDenial(field, 'the grant must end in the future');
  if (ttlMs > policy.maxGrantTtlMs) {
    throw policyDenial(
      field,
      `a TTL of ${Math.ceil(ttlMs / 1000)} s exceeds the connector policy's maximum of ${Math.floor(policy.maxGrantTtlMs / 1000)} s (POLICY_MAX_GRANT_TTL)`,
    );
  }
  if (expiresAtMs > latestGrantEndMs) {
    throw invalidRequest(
      field,
      `the grant would end after ${new Date(latestGrantEndMs).toISOString()}, the latest end a grant can have`,
    );
  }
  return expiresAtMs;
}
