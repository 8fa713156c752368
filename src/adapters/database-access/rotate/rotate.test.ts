import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { alice, harness, perRequesterUser, projectId } from '../../../../test/kits/grant-test-kit.js';
import { labelKeys, labelValue, readGrants, usernameFor } from '../model/user-model.js';

const username = perRequesterUser(alice);

describe('rotate', () => {
  it('issues a new password, records when, and returns it once applied', async () => {
    const h = harness();
    const granted = await h.grant();
    await h.clock.advance(60_000);
    h.atlas.setKnobs({ propagationDelayMs: 25 }); // one poll PENDING: the learned 0 ms, then 25 ms steps
    h.clearCalls();
    const grantsBefore = readGrants(h.atlas.user(projectId, username)?.labels ?? []);
    const rotatedAt = h.clock.now(); // the write comes first; only the readiness wait sleeps

    const result = await h.rotate();

    expect(h.atlas.methods()).toEqual([
      'databaseUsers.get',
      'databaseUsers.update',
      'clusters.status',
      'clusters.status',
    ]);
    const password = h.atlas.passwordOf(projectId, username);
    expect(result).toEqual({ username, password });
    expect(password).not.toBe('password' in granted ? granted.password : undefined);
    expect(h.secrets).toContain(password);
    const labels = h.atlas.user(projectId, username)?.labels ?? [];
    expect(labelValue(labels, labelKeys.passwordRotatedAt)).toBe(new Date(rotatedAt).toISOString());
    expect(h.clock.now() - rotatedAt).toBe(25);
    expect(labelValue(labels, labelKeys.passwordGrant)).toBeUndefined();
    expect(readGrants(labels)).toEqual(grantsBefore);
    expect(h.ungatedWrites()).toEqual([]);
  });

  it('encrypts the new credential to the recipient key', async () => {
    const h = harness();
    await h.grant();
    const pair = await generateKeyPair('RSA-OAEP-256', { extractable: true });

    const result = await h.rotate({ recipientPublicKey: await exportJWK(pair.publicKey) });

    const jwe = 'credential' in result ? result.credential : '';
    const { plaintext } = await compactDecrypt(jwe, pair.privateKey);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({
      username,
      password: h.atlas.passwordOf(projectId, username),
    });
    expect(result).not.toHaveProperty('password');
  });

  it('fails with not_found when the requester has no user', async () => {
    const h = harness();
    await expect(h.rotate()).rejects.toMatchObject({ code: 'not_found' });
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });

  // An atlas-project requester may hold only a project-wide user made before per-cluster users.
  it('says, through a per-cluster integration, that an older project-wide user is not rotated and what to do', async () => {
    const h = harness();
    const error: unknown = await h.rotate().catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'not_found' });
    const message = String((error as Error).message);
    expect(message).toContain(username);
    expect(message).toContain(`(${usernameFor('per-requester', alice)}) is not rotated`);
    expect(message).toContain('revoke its grants and grant again');
  });

  it('names only the one user where users are per project (atlas-multi-project)', async () => {
    const h = harness({ kind: 'atlas-multi-project' });
    const error: unknown = await h.rotate({ projectId }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({
      code: 'not_found',
      message: `requester has no database user ${usernameFor('per-requester', alice)} in project ${projectId} to rotate`,
    });
  });
});
