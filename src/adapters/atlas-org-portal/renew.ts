import { ConnectorError } from '../../errors/connector-error.js';
import { isActive } from './ledger.js';
import type { RenewPayload } from './payloads.js';
import type { PortalDeps } from './person.js';
import { expiryOf } from './validate.js';

export interface RenewResult {
  readonly grantId: string;
  readonly expiresAt: string;
}

/**
 * Extends a grant within POLICY_MAX_GRANT_TTL (counted from now). Atlas UI roles carry no expiry,
 * so nothing changes in Atlas: the new end lives in the control plane's ledger, which every later
 * sweep carries. An unknown or revoked grant cannot be renewed, and neither can an expired one: its
 * access is due for removal (a sweep may be removing it now), so it takes a new grant.
 */
export function renewAccess(
  input: { readonly payload: RenewPayload },
  deps: Pick<PortalDeps, 'clock' | 'policy'>,
): RenewResult {
  const { payload } = input;
  const record = payload.grants.find((g) => g.grantId === payload.grantId);
  if (!record) {
    throw new ConnectorError({
      code: 'gone',
      message: `grantId: grant ${payload.grantId} is unknown or already revoked; it cannot be renewed`,
      details: { field: 'grantId' },
    });
  }
  const now = deps.clock.now();
  if (!isActive(record, now)) {
    throw new ConnectorError({
      code: 'gone',
      message: `grantId: grant ${payload.grantId} expired at ${record.expiresAt}; it cannot be renewed, request a new grant`,
      details: { field: 'grantId' },
    });
  }
  const expiresAtMs = expiryOf(payload, now, deps);
  return { grantId: payload.grantId, expiresAt: new Date(expiresAtMs).toISOString() };
}
