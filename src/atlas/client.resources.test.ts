import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../errors/connector-error.js';
import { paginate } from './pagination.js';
import {
  api,
  atlas,
  createTestClient,
  groupId,
  mockTokenMint,
  orgId,
  rejectionOf,
} from '../../test/kits/atlas-test-kit.js';
import { dbUser, orgUser, page, role } from '../../test/kits/atlas-fixtures-test-kit.js';

describe('resource calls', () => {
  it('URL-encodes a username that is an ARN', async () => {
    const arn = 'arn:aws:iam::123456789012:role/jit/alice';
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/databaseUsers/%24external/${encodeURIComponent(arn)}`)
      .reply(200, { ...dbUser, username: arn, databaseName: '$external' });
    const { client } = createTestClient();

    const user = await client.databaseUsers.get(groupId, '$external', arn);

    expect(user.username).toBe(arn);
  });

  it('lists custom roles as a plain array', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/customDBRoles/roles`)
      .reply(200, [role, { ...role, roleName: 'jit-r2' }]);
    const { client } = createTestClient();

    const roles = await client.customDbRoles.list(groupId);

    expect(roles.map((r) => r.roleName)).toEqual(['jit-r1', 'jit-r2']);
    expect(roles[0]?.inheritedRoles).toEqual([]);
  });

  it('repeats array query parameters for event filters', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/events`)
      .query({
        eventType: ['MONGODB_USER_ADDED', 'MONGODB_USER_DELETED'],
        minDate: '2026-11-01T00:00:00Z',
        pageNum: '1',
        itemsPerPage: '100',
      })
      .reply(200, page([{ id: 'e1', created: '2026-11-02T00:00:00Z', eventTypeName: 'MONGODB_USER_ADDED' }]));
    const { client } = createTestClient();

    const events = await client.events.listForProject(groupId, {
      eventType: ['MONGODB_USER_ADDED', 'MONGODB_USER_DELETED'],
      minDate: '2026-11-01T00:00:00Z',
    });

    expect(events.results).toHaveLength(1);
  });

  it('passes org user filters as query parameters', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/orgs/${orgId}/users`)
      .query({
        username: 'a@example.com',
        orgMembershipStatuses: 'PENDING',
        pageNum: '1',
        itemsPerPage: '100',
      })
      .reply(200, page([orgUser]));
    const { client } = createTestClient();

    const users = await client.orgUsers.list(orgId, {
      username: 'a@example.com',
      orgMembershipStatuses: ['PENDING'],
    });

    expect(users.results[0]).toMatchObject({ id: 'u1', teamIds: [], roles: { groupRoleAssignments: [] } });
  });

  it('keeps the API key roles from the root status and never the private key of listed keys', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/orgs/${orgId}/apiKeys`)
      .query(true)
      .reply(
        200,
        page([
          {
            id: 'k1',
            publicKey: 'abcdefgh',
            privateKey: '********-****-****-c4e5',
            roles: [{ orgId, roleName: 'ORG_MEMBER' }],
          },
        ]),
      );
    const { client } = createTestClient();

    const keys = await client.identity.listOrgApiKeys(orgId);

    expect(keys.results[0]).toEqual({
      id: 'k1',
      publicKey: 'abcdefgh',
      roles: [{ orgId, roleName: 'ORG_MEMBER' }],
    });
  });
});

describe('pagination', () => {
  it('returns one page with its position, count and whether another follows', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/databaseUsers`)
      .query({ pageNum: '3', itemsPerPage: '2' })
      .reply(200, { results: [dbUser, { ...dbUser, username: 'bob' }], totalCount: 9 });
    const { client } = createTestClient();

    const result = await client.databaseUsers.list(groupId, { pageNum: 3, itemsPerPage: 2 });

    expect(result).toMatchObject({ pageNum: 3, totalCount: 9, hasNext: true });
    expect(result.results.map((user) => user.username)).toEqual(['alice', 'bob']);
  });

  it('iterates every item across pages and stops at the short page', async () => {
    mockTokenMint();
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const [index, chunk] of [names.slice(0, 2), names.slice(2, 4), names.slice(4)].entries()) {
      atlas()
        .get(`${api}/groups/${groupId}/databaseUsers`)
        .query({ pageNum: String(index + 1), itemsPerPage: '2' })
        .reply(200, { results: chunk.map((username) => ({ ...dbUser, username })) });
    }
    const { client } = createTestClient();

    const seen: string[] = [];
    for await (const user of paginate((options) => client.databaseUsers.list(groupId, options), {
      itemsPerPage: 2,
    })) {
      seen.push(user.username);
    }

    expect(seen).toEqual(names);
  });

  it('yields an item listed again on the next page once (offset pages shift when one is created mid-listing)', async () => {
    const ids = ['66aa00000000000000000001', '66aa00000000000000000002', '66aa00000000000000000003'];
    // Page 2 read after a project was created ahead of the cursor: it starts one item early.
    const pages = [ids.slice(0, 2), ids.slice(1)];
    const list = (options: { pageNum?: number }) => {
      const pageNum = options.pageNum ?? 1;
      const results = (pages[pageNum - 1] ?? []).map((id) => ({ id, name: `p-${id.slice(-1)}` }));
      return Promise.resolve({ results, pageNum, hasNext: pageNum < pages.length });
    };
    const seen: string[] = [];
    for await (const project of paginate(list, { itemsPerPage: 2 })) seen.push(project.id);
    expect(seen).toEqual(ids);
  });

  /** A listing that answers every page number, for good; it refuses to go on past `limit` pages. */
  function endlessList<T>(page: (pageNum: number) => readonly T[], limit = 50) {
    const asked: number[] = [];
    const list = (options: { pageNum?: number; itemsPerPage?: number }) => {
      const pageNum = options.pageNum ?? 1;
      asked.push(pageNum);
      if (asked.length > limit) throw new Error(`still listing after ${limit} pages`);
      return Promise.resolve({ results: page(pageNum), pageNum, hasNext: true });
    };
    return { list, asked };
  }

  it('fails a listing whose every page repeats the first (a proxy that ignores pageNum) instead of asking for good', async () => {
    const first = [
      { id: '66aa00000000000000000001', name: 'p-1' },
      { id: '66aa00000000000000000002', name: 'p-2' },
    ];
    const { list, asked } = endlessList(() => first);
    const seen: string[] = [];

    const error = await rejectionOf(
      (async () => {
        for await (const project of paginate(list, { itemsPerPage: 2 })) seen.push(project.id);
      })(),
    );

    expect(isConnectorError(error) && error.code).toBe('invalid_response');
    expect(seen).toEqual(first.map((project) => project.id));
    expect(asked).toEqual([1, 2]);
  });

  it('fails a listing that goes on past maxPages, even of items without an id', async () => {
    const { list, asked } = endlessList((pageNum) => [{ name: `a${pageNum}` }, { name: `b${pageNum}` }]);

    const error = await rejectionOf(
      (async () => {
        for await (const item of paginate(list, { itemsPerPage: 2, maxPages: 3 })) void item;
      })(),
    );

    expect(isConnectorError(error) && error.code).toBe('invalid_response');
    expect(asked).toEqual([1, 2, 3]);
  });

  it('drops and logs an invalid item without ending the listing early', async () => {
    mockTokenMint();
    atlas()
      .get(`${api}/groups/${groupId}/databaseUsers`)
      .query(true)
      .reply(200, { results: [dbUser, { username: 42, password: 'leaked-secret-value' }] });
    const { client, logs } = createTestClient();

    const result = await client.databaseUsers.list(groupId, { itemsPerPage: 2 });

    expect(result.results).toHaveLength(1);
    expect(result.hasNext).toBe(true);
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({
        msg: 'atlas list item dropped',
        operation: 'listGroupDatabaseUsers',
        index: 1,
      }),
    );
    expect(logs.text()).not.toContain('leaked-secret-value');
  });

  it.each([0, 501, 2.5])('refuses itemsPerPage %s before sending anything', async (itemsPerPage) => {
    const { client } = createTestClient();

    const error = await rejectionOf(client.databaseUsers.list(groupId, { itemsPerPage }));

    expect(isConnectorError(error) && error.code).toBe('invalid_request');
  });
});
