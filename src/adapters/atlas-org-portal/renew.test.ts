import { describe, expect, it } from 'vitest';
import { GrantRecord, RenewPayload } from './payloads.js';
import {
  baseConfig,
  hourMs,
  nowMs,
  payments,
  portalWorld,
  record,
} from '../../../test/kits/portal-test-kit.js';
import { renewAccess } from './renew.js';

describe('renew', () => {
  it('extends an unrevoked grant from now, without any Atlas call', () => {
    const h = portalWorld();
    const payload = RenewPayload.parse({
      grantId: 'g-1',
      ttlSeconds: 3 * 3600,
      grants: [record({ grantId: 'g-1', added: [] })],
    });
    expect(renewAccess({ config: baseConfig, payload }, h.deps)).toEqual({
      grantId: 'g-1',
      expiresAt: new Date(nowMs + 3 * hourMs).toISOString(),
    });
    expect(h.calls()).toEqual([]);
  });

  it.each([
    ['beyond the policy maximum', { ttlSeconds: 13 * 3600 }, 'policy_denied'],
    ['of a grant the control plane no longer holds', { grants: [] }, 'gone'],
    [
      'of a grant that has expired',
      { grants: [record({ grantId: 'g-1', added: [], expiresAt: new Date(nowMs - 1).toISOString() })] },
      'gone',
    ],
  ])('refuses a renewal %s', (_name, tweak, code) => {
    const h = portalWorld();
    const payload = RenewPayload.parse({
      grantId: 'g-1',
      ttlSeconds: 3600,
      grants: [record({ grantId: 'g-1', added: [] })],
      ...tweak,
    });
    expect(() => renewAccess({ config: baseConfig, payload }, h.deps)).toThrow(
      expect.objectContaining({ code }),
    );
  });

  // Under a POLICY_MAX_GRANT_TTL far beyond any real need, an end past year 9999 would come back
  // in the ledger written with six digits, which the record's ISO date-time schema refuses: every
  // later job of the person would fail invalid_job. One no date can represent failed as internal.
  it.each([
    ['no date can represent', Number.MAX_SAFE_INTEGER],
    ['is after year 9999', 8_000 * 366 * 24 * 3600],
  ])('refuses, naming ttlSeconds, an end that %s', (_name, ttlSeconds) => {
    const h = portalWorld([], { maxGrantTtlMs: Number.POSITIVE_INFINITY });
    const payload = RenewPayload.parse({
      grantId: 'g-1',
      ttlSeconds,
      grants: [record({ grantId: 'g-1', added: [] })],
    });
    expect(() => renewAccess({ config: baseConfig, payload }, h.deps)).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        message:
          'ttlSeconds: the grant would end after 9999-12-31T23:59:59.999Z, the latest end a grant can have',
        details: { field: 'ttlSeconds' },
      }),
    );
  });

  it('renews up to the last instant of year 9999, an end the ledger reads back', () => {
    const h = portalWorld([], { maxGrantTtlMs: Number.POSITIVE_INFINITY });
    const payload = RenewPayload.parse({
      grantId: 'g-1',
      expiresAt: '9999-12-31T23:59:59.999Z',
      grants: [record({ grantId: 'g-1', added: [] })],
    });
    const result = renewAccess({ config: baseConfig, payload }, h.deps);
    expect(result.expiresAt).toBe('9999-12-31T23:59:59.999Z');
    expect(GrantRecord.shape.expiresAt.safeParse(result.expiresAt).success).toBe(true);
  });

  it.each([
    [
      'an ORG_OWNER grant, which the default policy denies',
      [{ level: 'org', role: 'ORG_OWNER' }],
      {},
      'admin_role',
    ],
    [
      'a project role in a project no longer in POLICY_ALLOWED_PROJECT_IDS',
      [{ level: 'project', projectId: payments, role: 'GROUP_READ_ONLY' }],
      { allowedProjectIds: ['f'.repeat(24)] },
      'project',
    ],
    [
      'an org role the allowed org roles no longer name',
      [{ level: 'org', role: 'ORG_BILLING_ADMIN' }],
      { allowedOrgRoles: ['ORG_READ_ONLY'] },
      'role',
    ],
  ] as const)('refuses to extend %s', (_name, added, policy, rule) => {
    const h = portalWorld([], policy);
    const payload = RenewPayload.parse({
      grantId: 'g-1',
      ttlSeconds: 3600,
      grants: [record({ grantId: 'g-1', added: [...added] })],
    });
    expect(() => renewAccess({ config: baseConfig, payload }, h.deps)).toThrow(
      expect.objectContaining({
        code: 'policy_denied',
        message: expect.stringMatching(/^grantId: grant g-1 gives what the connector's policy now refuses/),
        details: { field: 'grantId', rule },
      }),
    );
  });
});
