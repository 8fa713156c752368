import { describe, expect, it } from 'vitest';
import type { DatabaseUser, PageOptions } from '../../../atlas/index.js';
import {
  harness,
  hourMs,
  managedUser,
  projectA,
  readSales,
} from '../../../../test/kits/discover-test-kit.js';
import { offsetPages } from '../../../../test/kits/offset-pages-test-kit.js';
import { ConnectorError } from '../../../errors/connector-error.js';
import { findGrantHolder } from './grant-holder.js';

describe('findGrantHolder', () => {
  // The job's username names nobody (its requester details or userStrategy changed since the
  // grant), so the holder is searched by labels across the project's users. Atlas pages by offset:
  // a user deleted behind the cursor moves the holder up out of the listing, and a revoke that
  // missed it would answer already_revoked while the access remains.
  it('finds the holder a deletion moved up out of the project’s users while they were listed', async () => {
    const h = harness();
    const now = h.clock.now();
    const bob = managedUser({ username: 'jit-bob-example-com-77aa', grants: [] }, now);
    const holder = managedUser(
      {
        username: 'jit-alice-example-com-per-grant-1',
        grants: [{ id: 'g-1', expiresAtMs: now + hourMs, roles: [readSales] }],
      },
      now,
    );
    const carol = managedUser({ username: 'jit-carol-example-com-88bb', grants: [] }, now);
    let live: readonly DatabaseUser[] = [bob, holder, carol];
    // One user a page; bob, read on page 1, is deleted (a racing revoke) before page 2 is read.
    const { list } = offsetPages(() => live, {
      itemsPerPage: 1,
      beforeRead: (read) => {
        if (read === 2) live = live.filter((user) => user !== bob);
      },
    });
    const { client } = h.atlas;
    const atlas = {
      ...client,
      databaseUsers: {
        ...client.databaseUsers,
        get: () => Promise.reject(new ConnectorError({ code: 'not_found', message: 'no such user' })),
        list: (_projectId: string, page?: PageOptions) => list(page),
      },
    };

    const found = await findGrantHolder(
      // Only `atlas` is read on this path.
      { atlas } as unknown as Parameters<typeof findGrantHolder>[0],
      h.ctx,
      {
        projectId: projectA,
        requesterId: 'req-alice',
        grantId: 'g-1',
        username: 'jit-alice-example-com-3f9a',
      },
    );

    expect(found?.username).toBe(holder.username);
  });
});
