import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import { policyDenial, type PolicyRule } from '../../errors/policy-denial.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import { isActive } from './ledger.js';
import type { GrantRecord, RenewPayload } from './payloads.js';
import { checkPersonKey, type PortalCtx, type PortalDeps } from './person.js';
import { grantExpiryMs } from '../grant-expiry.js';
import { checkAccess } from './validate.js';

export interface RenewResult {
  readonly grantId: string;
  readonly expiresAt: string;
}

/**
 * Extends a grant within POLICY_MAX_GRANT_TTL (counted from now). Atlas UI roles carry no expiry,
 * so nothing changes in Atlas: the new end lives in the control plane's ledger, which every later
 * sweep carries. An unknown or revoked grant cannot be renewed, and neither can an expired one: its
 * access is due for removal (a sweep may be removing it now), so it takes a new grant. Nor can a
 * grant whose roles or projects the local policy (or the integration's allow-list) has since come
 * to refuse: renewing it would extend, without end, access no new grant could get.
 */
export function renewAccess(
  input: { readonly config: AtlasOrgPortalConfig; readonly payload: RenewPayload },
  deps: Pick<PortalDeps, 'clock' | 'policy'>,
  ctx: Pick<PortalCtx, 'resourceKey'> = {},
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
  checkPersonKey(ctx, record.email);
  const now = deps.clock.now();
  if (!isActive(record, now)) {
    throw new ConnectorError({
      code: 'gone',
      message: `grantId: grant ${payload.grantId} expired at ${record.expiresAt}; it cannot be renewed, request a new grant`,
      details: { field: 'grantId' },
    });
  }
  checkStillAllowed(record, input.config, deps);
  const expiresAtMs = grantExpiryMs(payload, now, deps.policy);
  return { grantId: payload.grantId, expiresAt: new Date(expiresAtMs).toISOString() };
}

/** The record's roles against today's policy; a refusal names the grant, not the record's fields. */
function checkStillAllowed(
  record: GrantRecord,
  config: AtlasOrgPortalConfig,
  deps: Pick<PortalDeps, 'policy'>,
): void {
  try {
    checkAccess(record.added, config, deps);
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    const rule = typeof error.details.rule === 'string' ? (error.details.rule as PolicyRule) : 'other';
    throw policyDenial(
      'grantId',
      `grant ${record.grantId} gives what the connector's policy now refuses, so it cannot be renewed (its ${error.message})`,
      rule,
    );
  }
}
