import { generateKeyPairSync } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { importRecipientKey } from './credential.js';
import { alice, harness, perRequesterUser, projectId } from '../../../../test/kits/grant-test-kit.js';

const username = perRequesterUser(alice);

async function recipient(alg: string, options: { crv?: string } = {}) {
  const pair = await generateKeyPair(alg, { extractable: true, ...options });
  const jwk = await exportJWK(pair.publicKey);
  return { privateKey: pair.privateKey, jwk };
}

async function decrypt(jwe: string, privateKey: CryptoKey): Promise<unknown> {
  const { plaintext } = await compactDecrypt(jwe, privateKey);
  return JSON.parse(new TextDecoder().decode(plaintext));
}

describe('credential encryption', () => {
  it('returns the credential as a JWE for an RSA key, with the plaintext password nowhere in the result', async () => {
    const h = harness();
    const { privateKey, jwk } = await recipient('RSA-OAEP-256');

    const result = await h.grant({ recipientPublicKey: { ...jwk, kid: 'cp-key-1' } });

    const password = h.atlas.passwordOf(projectId, username) ?? '';
    expect(result).toMatchObject({ username, credential: expect.any(String) });
    expect(result).not.toHaveProperty('password');
    expect(JSON.stringify(result)).not.toContain(password);
    const jwe = 'credential' in result ? result.credential : '';
    expect(decodeProtectedHeader(jwe)).toMatchObject({
      alg: 'RSA-OAEP-256',
      enc: 'A256GCM',
      kid: 'cp-key-1',
    });
    expect(await decrypt(jwe, privateKey)).toEqual({ username, password });
    expect(h.secrets).toEqual([password]);
  });

  it('uses ECDH-ES for an EC key', async () => {
    const h = harness();
    const { privateKey, jwk } = await recipient('ECDH-ES', { crv: 'P-256' });

    const result = await h.grant({ recipientPublicKey: jwk });

    const jwe = 'credential' in result ? result.credential : '';
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM' });
    expect(await decrypt(jwe, privateKey)).toEqual({
      username,
      password: h.atlas.passwordOf(projectId, username),
    });
  });

  it('honours the algorithm the JWK names', async () => {
    const { jwk } = await recipient('ECDH-ES+A256KW', { crv: 'X25519' });
    await expect(importRecipientKey({ ...jwk, kty: 'OKP', alg: 'ECDH-ES+A256KW' })).resolves.toMatchObject({
      alg: 'ECDH-ES+A256KW',
    });
  });

  it('says passwordUnchanged, with no credential, when no password was issued', async () => {
    const h = harness();
    const { jwk } = await recipient('RSA-OAEP-256');
    await h.grant();

    const second = await h.grant({ grantId: 'g-2', recipientPublicKey: jwk });

    expect(second).toMatchObject({ passwordUnchanged: true });
    expect(second).not.toHaveProperty('credential');
  });

  it('rejects an incomplete key as invalid_request', async () => {
    await expect(importRecipientKey({ kty: 'EC', crv: 'P-256', x: 'abc' })).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'recipientPublicKey: is not a complete EC public JWK',
    });
  });

  it('refuses an RSA key under 2048 bits before any Atlas write, naming the field', async () => {
    const h = harness();
    // jose will not generate one; Node will.
    const jwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    await expect(h.grant({ recipientPublicKey: jwk })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^recipientPublicKey: cannot be used to encrypt \(.*2048/),
    });
    expect(h.atlas.methods()).toEqual([]);
  });

  it('refuses an RSA public exponent that would leave the credential readable', async () => {
    const h = harness();
    const { jwk } = await recipient('RSA-OAEP-256');
    await expect(h.grant({ recipientPublicKey: { ...jwk, e: 'AQ' } })).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'recipientPublicKey.e: must be an odd RSA public exponent of at least 65537 ("AQAB")',
    });
    expect(h.atlas.methods()).toEqual([]);
  });

  it('rejects a key that cannot be imported as invalid_request', async () => {
    await expect(importRecipientKey({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});
