import { describe, expect, it } from 'vitest';
import {
  buildLabels,
  deleteAfterFor,
  grantKey,
  grantLabels,
  isManaged,
  readGrants,
  rolesNeeded,
  usernameFor,
  type GrantRecord,
} from './user-model.js';

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
    expect(readGrants(labels)).toEqual([...records].sort((a, b) => a.key.localeCompare(b.key)));
  });

  it('splits a long grant over continuation labels of at most 255 characters', () => {
    const roles = Array.from({ length: 12 }, (_, i) => ({
      cluster: 'Cluster0',
      roleName: 'read',
      databaseName: `database_number_${i}`,
      collectionName: `collection_${i}`,
    }));
    const labels = grantLabels(grant('g-long', roles));
    expect(labels.length).toBeGreaterThan(1);
    expect(labels.every((l) => l.value.length <= 255 && l.key.length <= 255)).toBe(true);
    expect(readGrants(labels)[0]?.roles).toEqual(roles);
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
