import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../errors/error-codes.js';
import {
  clusterFixture,
  clusterName,
  dayMs,
  endpointId,
  harness,
  type HarnessOptions,
  otherProjectId,
  projectId,
  type Harness,
} from '../../../../test/kits/grant-test-kit.js';
import type { Policy } from '../../../config/env.js';

const unknownProject = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const readSales = { cluster: clusterName, role: 'read', database: 'sales' };
const multi: HarnessOptions = {
  kind: 'atlas-multi-project',
  config: { projectIds: [projectId, otherProjectId] },
};

function writes(h: Harness): string[] {
  return h.atlas.methods().filter((method) => /\.(create|update|delete)$/.test(method));
}

interface BadCase {
  readonly name: string;
  readonly payload: Record<string, unknown>;
  readonly options?: HarnessOptions;
  readonly policy?: Partial<Policy>;
  readonly prepare?: (h: Harness) => void;
  readonly code: ErrorCode;
  readonly message: RegExp;
}

const badCases: BadCase[] = [
  {
    name: 'a payload project that is not the atlas-project integration’s',
    payload: { projectId: otherProjectId },
    code: 'invalid_request',
    message: /^projectId: 5f1a2b3c4d5e6f7a8b9c0d2f is not this integration's project/,
  },
  {
    name: 'no project for an atlas-multi-project integration',
    payload: {},
    options: multi,
    code: 'invalid_request',
    message: /^projectId: is required for an atlas-multi-project integration/,
  },
  {
    name: 'a project outside the multi-project allow-list',
    payload: { projectId: unknownProject },
    options: multi,
    code: 'invalid_request',
    message: /^projectId: project a{24} is not in this integration's projectIds allow-list/,
  },
  {
    name: 'a project outside the connector policy',
    payload: {},
    policy: { allowedProjectIds: [otherProjectId] },
    code: 'policy_denied',
    message: /^projectId: .*POLICY_ALLOWED_PROJECT_IDS/,
  },
  {
    name: 'a role outside the connector policy',
    payload: { access: [readSales, { cluster: clusterName, role: 'readWrite', database: 'sales' }] },
    policy: { allowedRoles: ['read'] },
    code: 'policy_denied',
    message: /^access\[1\]\.role: role readWrite is not in .*POLICY_ALLOWED_ROLES/,
  },
  {
    name: 'atlasAdmin without allowAdminRoles',
    payload: { access: [{ cluster: clusterName, role: 'atlasAdmin' }] },
    code: 'policy_denied',
    message: /^access\[0\]\.role: atlasAdmin is an admin-class role.*POLICY_ALLOW_ADMIN_ROLES/,
  },
  {
    name: 'a TTL over the policy maximum',
    payload: { ttlSeconds: 31 * 24 * 3600 },
    code: 'policy_denied',
    message: /^ttlSeconds: a TTL of 2678400 s exceeds .* maximum of 2592000 s \(POLICY_MAX_GRANT_TTL\)/,
  },
  {
    name: 'an expiry in the past',
    payload: { ttlSeconds: undefined, expiresAt: '2020-01-01T00:00:00Z' },
    code: 'policy_denied',
    message: /^expiresAt: the grant must end in the future/,
  },
  {
    name: 'an end after year 9999 under a policy with no practical maximum',
    payload: { ttlSeconds: Number.MAX_SAFE_INTEGER },
    policy: { maxGrantTtlMs: Number.POSITIVE_INFINITY },
    code: 'invalid_request',
    message:
      /^ttlSeconds: the grant would end after 9999-12-31T23:59:59\.999Z, the latest end a grant can have$/,
  },
  {
    name: 'a collection on dbAdmin',
    payload: {
      access: [readSales, { cluster: clusterName, role: 'dbAdmin', database: 'sales', collection: 'c' }],
    },
    code: 'invalid_request',
    message: /^access\[1\]\.collection: only read and readWrite can be scoped to a collection$/,
  },
  {
    name: 'a database role without a database',
    payload: { access: [{ cluster: clusterName, role: 'readWrite' }] },
    code: 'invalid_request',
    message: /^access\[0\]\.database: is required for role readWrite$/,
  },
  {
    name: 'a cluster-wide role on a database other than admin',
    payload: { access: [{ cluster: clusterName, role: 'readAnyDatabase', database: 'sales' }] },
    policy: { allowAdminRoles: true },
    code: 'invalid_request',
    message:
      /^access\[0\]\.database: readAnyDatabase applies to the whole cluster: use database admin or omit it$/,
  },
  {
    name: 'a cluster other than the atlas-project integration’s',
    payload: { access: [{ ...readSales, cluster: 'Other' }] },
    code: 'invalid_request',
    message:
      /^access\[0\]\.cluster: cluster Other is not this integration's; it grants access to cluster Cluster0 only$/,
  },
  {
    name: 'an unknown cluster',
    payload: { projectId, access: [readSales, { ...readSales, cluster: 'Nope' }] },
    options: multi,
    code: 'invalid_request',
    message: /^access\[1\]\.cluster: cluster Nope not found in project 5f1a2b3c4d5e6f7a8b9c0d1e$/,
  },
  {
    name: 'an unknown project',
    payload: { projectId: unknownProject },
    options: { kind: 'atlas-multi-project', config: { projectIds: undefined } },
    code: 'invalid_request',
    message: /^projectId: project a{24} not found/,
  },
  {
    name: 'a cluster being deleted',
    payload: {},
    prepare: (h) => h.atlas.addCluster(projectId, clusterFixture(clusterName, { stateName: 'DELETING' })),
    code: 'invalid_request',
    message: /^access\[0\]\.cluster: cluster Cluster0 in project .* is being deleted$/,
  },
  {
    // No credential can log in to a paused cluster: a grant there would report success with a
    // connection that cannot be used (ready means usable), so it is refused before any write.
    name: 'a paused cluster',
    payload: {},
    prepare: (h) => h.atlas.addCluster(projectId, clusterFixture(clusterName, { paused: true })),
    code: 'conflict',
    message:
      /^access\[0\]\.cluster: cluster Cluster0 in project .* is paused: no credential can log in to it until it is resumed/,
  },
  {
    name: 'a role that is neither built in nor a custom role of the project',
    payload: { access: [{ cluster: clusterName, role: 'salesAnalyst' }] },
    code: 'invalid_request',
    message: /^access\[0\]\.role: salesAnalyst is neither a built-in role nor a custom role of project/,
  },
  {
    // An existing connector role named directly would escape the actions policy it was made under.
    name: 'a connector-made jit-r- role named as a role, though it exists in the project',
    payload: { access: [{ cluster: clusterName, role: 'jit-r-0123456789abcdef' }] },
    prepare: (h) =>
      h.atlas.addCustomRole(projectId, {
        roleName: 'jit-r-0123456789abcdef',
        actions: [{ action: 'DROP_DATABASE', resources: [{ db: 'admin', collection: '' }] }],
        inheritedRoles: [],
      }),
    code: 'invalid_request',
    message:
      /^access\[0\]\.role: jit-r-0123456789abcdef is a role this connector makes for an `actions` grant/,
  },
  {
    name: 'a private connection type on a cluster without peering',
    payload: {},
    options: { config: { connectionType: 'private' } },
    prepare: (h) =>
      h.atlas.addCluster(projectId, { name: clusterName, connectionStrings: { standardSrv: 'x' } }),
    code: 'invalid_request',
    message: /^access\[0\]\.cluster: cluster Cluster0 has no private connection string/,
  },
  {
    name: 'a private endpoint the cluster does not have',
    payload: {},
    options: { config: { connectionType: 'privateEndpoint', privateEndpointId: 'vpce-other' } },
    code: 'invalid_request',
    message:
      /^access\[0\]\.cluster: cluster Cluster0 has no connection string for private endpoint vpce-other$/,
  },
  {
    name: 'a recipient key carrying private material',
    payload: { recipientPublicKey: { kty: 'OKP', crv: 'X25519', x: 'abc', d: 'secret' } },
    code: 'invalid_request',
    message: /^recipientPublicKey: must be a public key/,
  },
  {
    name: 'a recipient key with a signature algorithm',
    payload: { recipientPublicKey: { kty: 'RSA', n: 'abc', e: 'AQAB', alg: 'RS256' } },
    code: 'invalid_request',
    message: /^recipientPublicKey\.alg: RS256 is not a key-encryption algorithm for a RSA key$/,
  },
];

describe('grant validation', () => {
  it.each(badCases)('rejects $name before any Atlas write', async (bad) => {
    const h = harness({ ...bad.options, policy: bad.policy });
    bad.prepare?.(h);

    const failure = h.grant(bad.payload);

    await expect(failure).rejects.toMatchObject({ code: bad.code, retryable: false });
    await expect(failure).rejects.toThrow(bad.message);
    expect(writes(h)).toEqual([]);
  });

  it('grants a cluster-wide role on admin when the policy allows admin roles', async () => {
    const h = harness({ policy: { allowAdminRoles: true } });
    const result = await h.grant({ access: [{ cluster: clusterName, role: 'readAnyDatabase' }] });
    expect(result.roles).toEqual([{ roleName: 'readAnyDatabase', databaseName: 'admin' }]);
  });

  it('grants an existing custom role of the project on admin', async () => {
    const h = harness();
    h.atlas.addCustomRole(projectId, {
      roleName: 'salesAnalyst',
      actions: [],
      inheritedRoles: [{ db: 'sales', role: 'read' }],
    });
    const result = await h.grant({ access: [{ cluster: clusterName, role: 'salesAnalyst' }] });
    expect(result.roles).toEqual([{ roleName: 'salesAnalyst', databaseName: 'admin' }]);
    expect(h.atlas.callsTo('customDbRoles.list')).toEqual([[projectId]]);
  });

  it('narrows read to one collection', async () => {
    const h = harness();
    const result = await h.grant({ access: [{ ...readSales, collection: 'orders' }] });
    expect(result.roles).toEqual([{ roleName: 'read', databaseName: 'sales', collectionName: 'orders' }]);
  });

  it('allows a TTL beyond 7 days when the policy permits it', async () => {
    const h = harness({ policy: { maxGrantTtlMs: 14 * dayMs } });
    await expect(h.grant({ ttlSeconds: 14 * 24 * 3600 })).resolves.toMatchObject({
      username: expect.any(String),
    });
  });

  it('reads each distinct cluster once', async () => {
    const h = harness();
    await h.grant({ access: [readSales, { ...readSales, database: 'orders' }] });
    expect(h.atlas.callsTo('clusters.get')).toEqual([[projectId, clusterName]]);
  });

  it('reads a paused cluster again on the next grant, which goes through once it is resumed', async () => {
    const h = harness();
    h.atlas.addCluster(projectId, clusterFixture(clusterName, { paused: true }));
    await expect(h.grant()).rejects.toMatchObject({
      code: 'conflict',
      details: { field: 'access[0].cluster' },
    });

    h.atlas.setClusterPaused(projectId, clusterName, false);
    await expect(h.grant()).resolves.toMatchObject({ username: expect.any(String) });
    expect(h.atlas.callsTo('clusters.get')).toEqual([
      [projectId, clusterName],
      [projectId, clusterName],
    ]);
  });

  it('finds a Flex cluster through its own endpoint', async () => {
    const h = harness(multi);
    h.atlas.addCluster(projectId, clusterFixture('Flex0'), { flex: true });
    const result = await h.grant({ projectId, access: [{ ...readSales, cluster: 'Flex0' }] });
    expect(h.atlas.methods().slice(0, 2)).toEqual(['clusters.get', 'flexClusters.get']);
    expect(result.connectionString).toBe('mongodb+srv://flex0.ab1cd.mongodb.net');
  });
});

describe('connection strings', () => {
  it('returns the private (peering) SRV string for connectionType private', async () => {
    const h = harness({ config: { connectionType: 'private' } });
    expect((await h.grant()).connectionString).toBe('mongodb+srv://cluster0-pri.ab1cd.mongodb.net');
  });

  it('falls back to the non-SRV private string', async () => {
    const h = harness({ config: { connectionType: 'private' } });
    h.atlas.addCluster(projectId, {
      name: clusterName,
      connectionStrings: { private: 'mongodb://pri:27017' },
    });
    expect((await h.grant()).connectionString).toBe('mongodb://pri:27017');
  });

  it('returns the configured private endpoint’s SRV string for connectionType privateEndpoint', async () => {
    const h = harness({ config: { connectionType: 'privateEndpoint', privateEndpointId: endpointId } });
    const cluster = clusterFixture(clusterName);
    const endpoints = [
      { srvConnectionString: 'mongodb+srv://other-pl.net', endpoints: [{ endpointId: 'vpce-other' }] },
      ...(cluster.connectionStrings?.privateEndpoint ?? []),
    ];
    h.atlas.addCluster(projectId, {
      ...cluster,
      connectionStrings: { ...cluster.connectionStrings, privateEndpoint: endpoints },
    });
    expect((await h.grant()).connectionString).toBe('mongodb+srv://cluster0-pl-0.ab1cd.mongodb.net');
  });
});
