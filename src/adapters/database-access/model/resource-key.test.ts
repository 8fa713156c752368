import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../errors/connector-error.js';
import type { JobContext } from '../../../worker/job-context.js';
import {
  alice,
  clusterName,
  harness,
  perRequesterUser,
  projectId,
  type Harness,
} from '../../../../test/kits/grant-test-kit.js';
import { resourceKeyFor, usernameFor } from './user-model.js';

// An atlas-project integration (the harness's, on Cluster0): its per-requester user is per cluster.
const aliceKey = resourceKeyFor(projectId, perRequesterUser(alice));
const keyed = (h: Harness, resourceKey: string): JobContext => ({ ...h.context().ctx, resourceKey });

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof ConnectorError) return error;
  throw new Error(`expected a ConnectorError, got ${String(error)}`);
}

describe('the resource key of a database-access job', () => {
  it('is <projectId>/<username>, with the username computable from the requester as documented', () => {
    const bob = { id: 'bob', email: 'bob@example.com' };
    expect(usernameFor('per-requester', bob)).toBe('jit-bob-example-com-81b6');
    expect(usernameFor('per-requester', bob, undefined, 'Cluster0')).toBe(
      'jit-bob-example-com-81b6-c-2bd74152',
    );
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const hash = sha256(alice.id).slice(0, 4);
    const cluster = sha256(clusterName).slice(0, 8);
    expect(aliceKey).toBe(`${projectId}/jit-alice-example-com-${hash}-c-${cluster}`);
  });

  it.each([
    {
      name: 'a 40-character cut that ends in a dash',
      requester: { id: 'r1', email: `${'a'.repeat(39)}.b@x.com` },
    },
    { name: 'no character a-z0-9 at all', requester: { id: 'r2', email: '测试@例子.中国' } },
    { name: 'a name, no e-mail', requester: { id: 'r3', name: '--Zoë O’Brien--' } },
  ])('follows the documented username recipe for $name', ({ requester }) => {
    // database-access.md §7 and the README's sandbox section, as a control plane would code them.
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const cut = (requester.email ?? requester.name ?? requester.id)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40)
      .replace(/-+$/, '');
    const slug = cut === '' ? 'user' : cut;
    expect(usernameFor('per-requester', requester)).toBe(`jit-${slug}-${sha256(requester.id).slice(0, 4)}`);
    expect(usernameFor('per-grant', requester, 'g-7d2c')).toBe(
      `jit-${slug}-g-${sha256('g-7d2c').slice(0, 8)}`,
    );
  });

  it.each(['grant', 'revoke', 'renew', 'rotate'] as const)(
    'refuses a %s keyed other than its user, before any Atlas write, naming the expected key',
    async (job) => {
      const h = harness();
      const error = await failure(h[job]({}, keyed(h, `${projectId}/jit-someone-else-0000`)));

      expect(error.code).toBe('invalid_job');
      expect(error.message).toContain(`expected "${aliceKey}"`);
      expect(h.atlas.methods().filter((m: string) => /\.(create|update|delete)$/.test(m))).toEqual([]);
    },
  );

  it('accepts a grant keyed by its user', async () => {
    const h = harness();
    await expect(h.grant({}, keyed(h, aliceKey))).resolves.toMatchObject({
      username: aliceKey.split('/')[1],
    });
  });
});
