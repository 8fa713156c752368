import { describe, expect, it } from 'vitest';
import {
  buildLabels,
  deleteAfterFor,
  grantKey,
  grantLabels,
  integrationKey,
  isManaged,
  labelKeys,
  readGrants,
  rolesNeeded,
  usernameFor,
  userClusterOf,
  usernameForJob,
  type GrantRecord,
} from './user-model.js';

const projectId = '660200000000000000000001';
const orgId = '660100000000000000000001';

const now = Date.UTC(2026, 10, 24, 12);
const grant = (id: string, roles: GrantRecord['roles'], hours = 2): GrantRecord => ({
  key: grantKey(id),
  expiresAtMs: now + hours * 3_600_000,
  roles,
});

describe('usernameFor', () => {
  it('derives a readable, stable per-requester name and a distinct per-grant name', () => {
    const alice = { id: 'u-1', email: 'Alice.Smith@Example.com' };
    expect(usernameFor('per-requester', alice)).toMatch(/^jit-alice-smith-example-com-[0-9a-f]{4}$/);
    expect(usernameFor('per-requester', alice)).toBe(usernameFor('per-requester', alice));
    expect(usernameFor('per-requester', { ...alice, id: 'u-2' })).not.toBe(
      usernameFor('per-requester', alice),
    );
    expect(usernameFor('per-grant', alice, 'g-1')).toMatch(/^jit-alice-smith-example-com-g-[0-9a-f]{8}$/);
  });

  // Existing users and control planes depend on these exact names: they never change.
  it('keeps the multi-project and every per-grant name byte for byte', () => {
    const bob = { id: 'bob', email: 'bob@example.com' };
    expect(usernameFor('per-requester', bob)).toBe('jit-bob-example-com-81b6');
    expect(usernameFor('per-grant', bob, 'my-grant-1')).toBe('jit-bob-example-com-g-c605213c');
    expect(usernameFor('per-grant', bob, 'my-grant-1', 'Cluster0')).toBe('jit-bob-example-com-g-c605213c');
    const projectScope = { kind: 'project', projectId, connectionType: 'standard' } as const;
    const clusterScope = { ...projectScope, kind: 'project-cluster', clusterName: 'Cluster0' } as const;
    const orgClusterScope = { ...clusterScope, kind: 'org-cluster', orgId } as const;
    expect(usernameForJob('per-requester', bob, 'my-grant-1', projectScope)).toBe('jit-bob-example-com-81b6');
    for (const scope of [projectScope, clusterScope, orgClusterScope]) {
      expect(usernameForJob('per-grant', bob, 'my-grant-1', scope)).toBe('jit-bob-example-com-g-c605213c');
    }
  });

  it.each([
    [
      'an atlas-project integration',
      (clusterName: string) =>
        ({ kind: 'project-cluster', projectId, clusterName, connectionType: 'standard' }) as const,
    ],
    [
      'a deep-discovery sub-integration',
      (clusterName: string) =>
        ({ kind: 'org-cluster', orgId, projectId, clusterName, connectionType: 'standard' }) as const,
    ],
  ])('gives %s a per-requester user per cluster, stable and distinct', (_kind, onCluster) => {
    const bob = { id: 'bob', email: 'bob@example.com' };
    // `-c-` and the first 8 hex digits of SHA-256 of the cluster name.
    expect(usernameForJob('per-requester', bob, 'g-1', onCluster('Cluster0'))).toBe(
      'jit-bob-example-com-81b6-c-2bd74152',
    );
    expect(usernameForJob('per-requester', bob, 'g-2', onCluster('Cluster0'))).toBe(
      usernameFor('per-requester', bob, undefined, 'Cluster0'),
    );
    expect(usernameForJob('per-requester', bob, 'g-1', onCluster('Cluster1'))).toBe(
      'jit-bob-example-com-81b6-c-0257a91f',
    );
    expect(userClusterOf(onCluster('Private0'))).toBe('Private0');
    // per-grant is one user per grant already: the same name as for the other kinds.
    expect(usernameForJob('per-grant', bob, 'my-grant-1', onCluster('Cluster0'))).toBe(
      'jit-bob-example-com-g-c605213c',
    );
  });

  it('keeps an atlas-multi-project user per requester and project', () => {
    expect(userClusterOf({ kind: 'project', projectId, connectionType: 'standard' })).toBeUndefined();
  });

  it('never gives a per-cluster name that another form could also give', () => {
    // A requester whose slug ends like a per-requester name's hash: the forms still differ by shape.
    const perCluster = usernameFor('per-requester', { id: 'bob', email: 'bob@example.com' }, undefined, 'A');
    const shapes = {
      perRequester: /^jit-[a-z0-9-]+-[0-9a-f]{4}$/,
      perGrant: /^jit-[a-z0-9-]+-g-[0-9a-f]{8}$/,
      perCluster: /^jit-[a-z0-9-]+-[0-9a-f]{4}-c-[0-9a-f]{8}$/,
    };
    expect(perCluster).toMatch(shapes.perCluster);
    expect(perCluster).not.toMatch(shapes.perRequester);
    expect(perCluster).not.toMatch(shapes.perGrant);
    const lookalike = { id: 'x', name: perCluster.slice(4, -5) };
    expect(usernameFor('per-requester', lookalike)).not.toMatch(shapes.perCluster);
    expect(usernameFor('per-grant', lookalike, 'g')).not.toMatch(shapes.perCluster);
  });
});

describe('grant labels', () => {
  it('round-trips grants, including collections with separators in their names', () => {
    const records = [
      grant('g-1', [
        { cluster: 'Cluster0', roleName: 'read', databaseName: 'sales', collectionName: 'orders,2026/q1' },
      ]),
      grant('g-2', [{ cluster: 'Cluster0', roleName: 'readWrite', databaseName: 'inventory' }], 5),
    ];
    const labels = buildLabels({
      requesterId: 'u-1',
      strategy: 'per-requester',
      integrationId: 'i',
      grants: records,
    });
    expect(isManaged(labels)).toBe(true);
    // Records that name no integration (written before records did) are the label's integration's.
    const named = records.map((record) => ({ ...record, integration: integrationKey('i') }));
    expect(readGrants(labels)).toEqual([...named].sort((a, b) => a.key.localeCompare(b.key)));
  });

  it('names the integration that made each grant, whichever integration wrote the user last', () => {
    const records = [
      {
        ...grant('g-1', [{ cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' }]),
        integration: integrationKey('int-a'),
      },
      {
        ...grant('g-2', [{ cluster: 'Cluster0', roleName: 'read', databaseName: 'hr' }]),
        integration: integrationKey('int-b'),
      },
    ];
    const labels = buildLabels({
      requesterId: 'u-1',
      strategy: 'per-requester',
      integrationId: 'int-b',
      grants: records,
    });
    expect(readGrants(labels)).toEqual([...records].sort((a, b) => a.key.localeCompare(b.key)));
    // A long id is named as its users' label carries it, cut at 255 characters.
    const long = `int-${'x'.repeat(300)}`;
    expect(integrationKey(long)).toBe(integrationKey(long.slice(0, 255)));
    expect(integrationKey(long)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('reads a grant whose later fields it does not know, taking the integration from the label then', () => {
    const labelled = integrationKey('int-label');
    for (const [value, integration] of [
      ['1795539600|Cluster0:read@sales|int-a', labelled],
      ['1795539600|Cluster0:read@sales|', labelled],
      ['1795539600|Cluster0:read@sales|0123456789abcdef|x', '0123456789abcdef'],
    ] as const) {
      const labels = [
        { key: labelKeys.integration, value: 'int-label' },
        { key: `jit-grant.${grantKey('g-1')}`, value },
      ];
      expect(readGrants(labels)).toEqual([
        {
          key: grantKey('g-1'),
          expiresAtMs: 1_795_539_600_000,
          roles: [{ cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' }],
          integration,
        },
      ]);
    }
  });

  it('round-trips the time a record was written, which an earlier reader ignores', () => {
    const written = {
      ...grant('g-1', [{ cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' }]),
      integration: integrationKey('int-a'),
      writtenAtMs: now - 90_000,
    };
    const [label] = grantLabels(written);
    expect(label?.value).toBe(
      `${(now + 2 * 3_600_000) / 1000}|Cluster0:read@sales|${integrationKey('int-a')}|${(now - 90_000) / 1000}`,
    );
    expect(readGrants(grantLabels(written))).toEqual([written]);
    // What the previous version read of it (expiry, roles, integration; later fields ignored).
    const [expiry, roles, integration] = (label?.value ?? '').split('|');
    expect([expiry, roles, integration]).toEqual([
      `${(now + 2 * 3_600_000) / 1000}`,
      'Cluster0:read@sales',
      integrationKey('int-a'),
    ]);
    // Without an integration the field stays empty: the label's integration is read, with the time.
    const unnamed = { ...written, integration: undefined };
    const labels = [{ key: labelKeys.integration, value: 'int-label' }, ...grantLabels(unnamed)];
    expect(readGrants(labels)).toEqual([{ ...written, integration: integrationKey('int-label') }]);
    // Written by an earlier version (no time), or by a later one with more fields: read as ever.
    for (const [value, writtenAtMs] of [
      ['1795539600|Cluster0:read@sales|0123456789abcdef', undefined],
      ['1795539600|Cluster0:read@sales|0123456789abcdef|1795530000|later', 1_795_530_000_000],
    ] as const) {
      expect(readGrants([{ key: `jit-grant.${grantKey('g-1')}`, value }])).toEqual([
        {
          key: grantKey('g-1'),
          expiresAtMs: 1_795_539_600_000,
          roles: [{ cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' }],
          integration: '0123456789abcdef',
          ...(writtenAtMs === undefined ? {} : { writtenAtMs }),
        },
      ]);
    }
  });

  it('splits a long grant over continuation labels of at most 255 characters', () => {
    const roles = Array.from({ length: 12 }, (_, i) => ({
      cluster: 'Cluster0',
      roleName: 'read',
      databaseName: `database_number_${i}`,
      collectionName: `collection_${i}`,
    }));
    const record = { ...grant('g-long', roles), integration: integrationKey('i'), writtenAtMs: now };
    const labels = grantLabels(record);
    expect(labels.length).toBeGreaterThan(1);
    expect(labels.every((l) => l.value.length <= 255 && l.key.length <= 255)).toBe(true);
    expect(readGrants(labels)).toEqual([record]);
  });

  it('never cuts a continuation label between the two halves of a surrogate pair', () => {
    // Database names may hold any Unicode; 28 emoji each put a pair across the 255th character.
    const roles = [0, 1, 2, 3].map((i) => ({
      cluster: 'Cluster0',
      roleName: 'read',
      databaseName: `d${i}${'\u{1F600}'.repeat(28)}`,
    }));
    const labels = grantLabels(grant('g-emoji', roles));
    expect(labels.length).toBeGreaterThan(1);
    expect(labels.every((l) => l.value.length <= 255 && !/\p{Surrogate}/u.test(l.value))).toBe(true);
    expect(readGrants(labels)[0]?.roles).toEqual(roles);
  });

  it('skips a malformed grant label instead of failing the whole user', () => {
    expect(readGrants([{ key: 'jit-grant.abc', value: 'not-a-record' }])).toEqual([]);
  });

  it('skips a record whose collection is not valid percent-encoding instead of throwing', () => {
    // Not one this version writes (a chunk lost, a hand edit): skipped, and sweep reports it.
    const labels = [
      { key: 'jit-grant.abc', value: '1800000000|Cluster0:read@sales/orders%E0%A4%A' },
      { key: 'jit-grant.def', value: '1800000000|Cluster0:read@sales' },
    ];
    expect(readGrants(labels).map((grant) => grant.key)).toEqual(['def']);
  });
});

describe('rolesNeeded', () => {
  it('keeps a role while any grant still needs it', () => {
    const shared = { cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' };
    const needed = rolesNeeded([
      grant('a', [shared]),
      grant('b', [shared, { ...shared, roleName: 'readWrite', databaseName: 'hr' }]),
    ]);
    expect(needed.map((r) => `${r.roleName}@${r.databaseName}`)).toEqual(['read@sales', 'readWrite@hr']);
  });
});

describe('deleteAfterFor', () => {
  it('caps at seven days minus a margin and never asks for the past', () => {
    expect(deleteAfterFor(now + 2 * 3_600_000, now)).toBe(new Date(now + 2 * 3_600_000).toISOString());
    expect(Date.parse(deleteAfterFor(now + 30 * 86_400_000, now))).toBe(now + 7 * 86_400_000 - 3_600_000);
    expect(Date.parse(deleteAfterFor(now - 1, now))).toBe(now + 60_000);
  });
});
