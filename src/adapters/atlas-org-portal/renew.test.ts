import { describe, expect, it } from 'vitest';
import { RenewPayload } from './payloads.js';
import { hourMs, nowMs, portalWorld, record } from '../../../test/kits/portal-test-kit.js';
import { renewAccess } from './renew.js';

describe('renew', () => {
  it('extends an unrevoked grant from now, without any Atlas call', () => {
    const h = portalWorld();
    const payload = RenewPayload.parse({
      grantId: 'g-1',
      ttlSeconds: 3 * 3600,
      grants: [record({ grantId: 'g-1', added: [] })],
    });
    expect(renewAccess({ payload }, h.deps)).toEqual({
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
    expect(() => renewAccess({ payload }, h.deps)).toThrow(expect.objectContaining({ code }));
  });
});
