import { describe, expect, it } from 'vitest';
import { simulatorSettings } from './simulator-env.js';

const defaults = {
  host: '127.0.0.1',
  port: 0,
  publicKey: 'sandboxp',
  privateKey: '00000000-0000-4000-8000-000000000000',
  fixturePath: undefined,
};

describe('the standalone simulator’s settings', () => {
  it('takes a variable set to nothing, or to blanks, as unset: its default, as the daemon does', () => {
    expect(simulatorSettings({})).toEqual(defaults);
    for (const blank of ['', '  ']) {
      expect(
        simulatorSettings({
          SANDBOX_ATLAS_HOST: blank,
          SANDBOX_ATLAS_PORT: blank,
          SANDBOX_ATLAS_PUBLIC_KEY: blank,
          SANDBOX_ATLAS_PRIVATE_KEY: blank,
          SANDBOX_ATLAS_FIXTURE: blank,
        }),
      ).toEqual(defaults);
    }
  });

  it('takes set values', () => {
    expect(
      simulatorSettings({
        SANDBOX_ATLAS_HOST: '::1',
        SANDBOX_ATLAS_PORT: '8090',
        SANDBOX_ATLAS_PUBLIC_KEY: 'abcdefgh',
        SANDBOX_ATLAS_PRIVATE_KEY: 'test-private-key-value',
        SANDBOX_ATLAS_FIXTURE: './fixture.json',
      }),
    ).toEqual({
      host: '::1',
      port: 8090,
      publicKey: 'abcdefgh',
      privateKey: 'test-private-key-value',
      fixturePath: './fixture.json',
    });
  });

  it('refuses a bad value, naming each variable', () => {
    const refusal = (() => {
      try {
        simulatorSettings({ SANDBOX_ATLAS_PORT: 'eighty', SANDBOX_ATLAS_PUBLIC_KEY: 'KEY' });
      } catch (error) {
        return String(error);
      }
      return 'accepted';
    })();
    expect(refusal).toContain('SANDBOX_ATLAS_PORT: ');
    expect(refusal).toContain('SANDBOX_ATLAS_PUBLIC_KEY: must be 8 lowercase letters');
  });
});
