import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payments, startWireHarness, type WireHarness } from '../../../test/kits/wire-test-kit.js';

describe('SCRAM-SHA-256 passwords prepared with SASLprep, as the driver prepares them', () => {
  let h: WireHarness;
  beforeEach(async () => {
    h = await startWireHarness();
  });
  afterEach(async () => h.close());

  it.each([
    ['a soft hyphen (mapped to nothing)', 'correct\u00ADhorse-battery'],
    ['a zero-width space (mapped to nothing)', 'correct\u200Bhorse-battery'],
    ['a no-break space (mapped to a space)', 'correct\u00A0horse-battery'],
    ['a compatibility character (NFKC)', 'correct-horse-battery-\u2168'],
  ])('logs in with a password containing %s', async (_case, secret) => {
    await h.createUser({ password: secret });
    await expect(h.login('jit-alice-1', secret, { authMechanism: 'SCRAM-SHA-256' })).resolves.toBeDefined();
  });

  it('creates a user whose password SASLprep refuses rather than failing the request', async () => {
    const secret = 'correct-horse-battery\u0007';
    await h.createUser({ password: secret });
    expect(h.sim.state.checkPassword(payments, 'jit-alice-1', secret)).toBe(true);
  });
});
