import { describe, expect, it } from 'vitest';
import type { ClusterView } from '../database-access/discover/discover-records.js';
import type { Route } from './routing.js';
import {
  normalizeDatabases,
  parseSubIntegrationId,
  rolesOf,
  subIntegrationId,
  subIntegrationRecord,
  type ClusterFindings,
} from './sub-integration.js';

const project = { id: '660200000000000000000001', name: 'payments' };
const cluster: ClusterView = {
  name: 'Cluster0',
  clusterType: 'REPLICASET',
  stateName: 'IDLE',
  paused: false,
  tags: [
    { key: 'owner', value: 'payments-team' },
    { key: 'env', value: 'prod' },
  ],
};
const served: Route = { kind: 'served', connectorId: 'vpc-a', connectionType: 'standard' };
const findings: ClusterFindings = {
  databases: [
    { name: 'sales', collections: ['orders', 'system.views', 'customers'] },
    { name: 'admin', collections: ['system.users'] },
    { name: 'inventory' },
  ],
  collectionsFrom: 'backup-snapshot',
  snapshotCreatedAt: '2026-12-01T03:00:00Z',
  customRoles: [{ roleName: 'jit-r-abc', actions: [], inheritedRoles: [] }],
  problems: [],
};

function record(overrides: { route?: Route; findings?: ClusterFindings; cluster?: ClusterView } = {}) {
  return subIntegrationRecord({
    project,
    cluster: overrides.cluster ?? cluster,
    route: overrides.route ?? served,
    ownerTagKey: 'owner',
    findings: 'findings' in overrides ? overrides.findings : findings,
  });
}

describe('sub-integration records', () => {
  it('has a stable id made of the project id and the cluster name, and parses back', () => {
    const id = subIntegrationId(project.id, 'Cluster0');
    expect(id).toBe('660200000000000000000001:Cluster0');
    expect(parseSubIntegrationId(id)).toEqual({ projectId: project.id, clusterName: 'Cluster0' });
  });

  it('assembles a served cluster: sorted databases without system ones, collections without system.*, roles, owner', () => {
    expect(record()).toEqual({
      type: 'subIntegration',
      id: '660200000000000000000001:Cluster0',
      projectId: project.id,
      projectName: 'payments',
      clusterName: 'Cluster0',
      clusterType: 'REPLICASET',
      clusterState: 'IDLE',
      paused: false,
      connectorId: 'vpc-a',
      connectionType: 'standard',
      databases: [{ name: 'inventory' }, { name: 'sales', collections: ['customers', 'orders'] }],
      collectionsFrom: 'backup-snapshot',
      snapshotCreatedAt: '2026-12-01T03:00:00Z',
      roles: rolesOf(findings.customRoles),
      owner: 'payments-team',
      tags: [
        { key: 'env', value: 'prod' },
        { key: 'owner', value: 'payments-team' },
      ],
      state: 'discovered',
    });
  });

  it('lists built-in roles first, then the project custom roles', () => {
    const roles = rolesOf(findings.customRoles);
    expect(roles.at(-1)).toEqual({ name: 'jit-r-abc', builtIn: false });
    expect(roles.filter((r) => !r.builtIn)).toHaveLength(1);
    expect(roles).toContainEqual({ name: 'read', builtIn: true });
  });

  it.each([
    [
      'a partial read is degraded with every problem joined',
      { ...findings, problems: ['a failed', 'b failed'] },
      'degraded',
      'a failed; b failed',
    ],
    ['nothing readable is unavailable', { problems: ['paused'], unavailable: true }, 'unavailable', 'paused'],
    ['no findings at all is unavailable', undefined, 'unavailable', undefined],
  ] as const)('%s', (_name, given, state, reason) => {
    const built = record({ findings: given });
    expect(built.state).toBe(state);
    expect(built.reason).toBe(reason);
  });

  it("carries only the listing for another connector's cluster: no databases, roles or connection", () => {
    const built = record({ route: { kind: 'elsewhere', connectorId: 'vpc-b' } });
    expect(built).toMatchObject({ state: 'elsewhere', connectorId: 'vpc-b', databases: [], roles: [] });
    expect(built).not.toHaveProperty('connectionType');
    expect(built).not.toHaveProperty('reason');
  });

  it('gives an unroutable cluster its routing reason', () => {
    const built = record({ route: { kind: 'unroutable', connectorId: 'vpc-a', reason: 'needs tag x' } });
    expect(built).toMatchObject({ state: 'unroutable', reason: 'needs tag x', databases: [] });
  });

  it('merges a database listed twice (two shards) into one with the union of collections', () => {
    expect(
      normalizeDatabases([
        { name: 'events', collections: ['clicks'] },
        { name: 'events', collections: ['sessions', 'clicks'] },
      ]),
    ).toEqual([{ name: 'events', collections: ['clicks', 'sessions'] }]);
  });
});
