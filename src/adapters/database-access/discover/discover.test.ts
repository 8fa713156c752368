import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SnapshotUpload } from '../../snapshot-uploader.js';
import { dedicatedOnly } from './discover-records.js';
import type { Page, PageOptions, Project } from '../../../atlas/index.js';
import { ConnectorError } from '../../../errors/connector-error.js';
import { discover, discoverOperation, type DiscoverAtlas, type DiscoverDeps } from './discover.js';
import type { AtlasMultiProjectConfig } from '../../atlas-multi-project/atlas-multi-project-config.js';
import { cluster0Id, seedProjectA, seedProjectB } from '../../../../test/kits/discover-seed-test-kit.js';
import { atlasIso } from '../../../../test/kits/atlas-world-test-kit.js';
import {
  dayMs,
  fakeSnapshots,
  harness,
  hourMs,
  managedUser,
  projectA,
  projectB,
  testConfig,
  atlasProjectJob,
  multiProjectJob,
  testPolicy,
  type Harness,
} from '../../../../test/kits/discover-test-kit.js';

interface Run {
  readonly h: Harness;
  readonly uploads: SnapshotUpload[];
  readonly deps: DiscoverDeps;
  readonly created: ReturnType<typeof fakeSnapshots>['created'];
}

function setup(): Run {
  const h = harness(11);
  seedProjectA(h.atlas, h.clock.now());
  seedProjectB(h.atlas);
  const snapshots = fakeSnapshots();
  const uploads: SnapshotUpload[] = [];
  const uploader = { upload: (s: SnapshotUpload) => (uploads.push(s), snapshots.uploader.upload(s)) };
  const deps = { atlas: h.atlas.client, clock: h.clock, policy: testPolicy(), snapshots: uploader };
  return { h, uploads, deps, created: snapshots.created };
}

const run = async (r: Run, config: AtlasMultiProjectConfig = testConfig()) =>
  discover(await multiProjectJob(config, {}), r.deps, r.h.ctx);

/** Records leave as `unknown`; the suite reads them back through a schema, as a consumer would. */
const recordShape = z.looseObject({
  type: z.string(),
  id: z.string().optional(),
  name: z.string().optional(),
  cluster: z.string().optional(),
  projectId: z.string().optional(),
});

const ofType = (r: Run, type: string, index = 0) =>
  (r.uploads[index]?.records ?? [])
    .map((record) => recordShape.parse(record))
    .filter((record) => record.type === type);

describe('discover', () => {
  it('reports projects and live clusters with owner, tags and connection kinds only', async () => {
    const r = setup();
    await run(r);
    expect(
      ofType(r, 'project')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['analytics', 'payments']);
    const clusters = ofType(r, 'cluster');
    expect(clusters.map((c) => c.name).sort()).toEqual(['Analytics', 'Cluster0', 'Flex0', 'Private0']);
    expect(clusters).toContainEqual({
      type: 'cluster',
      id: cluster0Id,
      projectId: projectA,
      name: 'Cluster0',
      clusterType: 'REPLICASET',
      state: 'IDLE',
      paused: false,
      mongoDBVersion: '8.0.4',
      owner: 'payments-team',
      connectionTypes: ['standard', 'standardSrv', 'privateSrv'],
      privateEndpointIds: [],
      tags: [
        { key: 'env', value: 'production' },
        { key: 'owner', value: 'payments-team' },
      ],
    });
    expect(clusters).toContainEqual(
      expect.objectContaining({
        name: 'Private0',
        connectionTypes: ['standardSrv', 'privateEndpoint'],
        privateEndpointIds: ['vpce-0a1b'],
      }),
    );
    expect(clusters).toContainEqual(expect.objectContaining({ name: 'Flex0', clusterType: 'FLEX' }));
  });

  it('lists databases from one primary per replica set or shard, matched to clusters by hostname', async () => {
    const r = setup();
    await run(r);
    const databases = ofType(r, 'database').map((d) => {
      const { cluster, name } = d;
      return `${cluster}/${name}`;
    });
    expect(databases.sort()).toEqual([
      'Analytics/events',
      'Analytics/reports',
      'Cluster0/inventory',
      'Cluster0/sales',
      'Private0/ledger',
    ]);
    const queried = r.h.atlas.callsTo('processes.listDatabases').map(([, id]) => id);
    expect(queried.sort()).toEqual([
      'analytics-shard-00-00.mq2cd.mongodb.net:27017',
      'analytics-shard-01-00.mq2cd.mongodb.net:27017',
      'atlas-p4y-shard-00-00.xq7ab.mongodb.net:27017',
      'atlas-pr1-shard-00-00.xq7ab.mongodb.net:27017',
    ]);
  });

  it('reports built-in roles with the admin class flagged, and the custom roles', async () => {
    const r = setup();
    await run(r);
    const roles = ofType(r, 'role').filter((role) => role.projectId === projectA);
    expect(roles).toContainEqual({
      type: 'role',
      projectId: projectA,
      name: 'read',
      builtIn: true,
      adminClass: false,
      level: 'collection',
    });
    expect(roles).toContainEqual(
      expect.objectContaining({ name: 'atlasAdmin', builtIn: true, adminClass: true, level: 'cluster' }),
    );
    expect(roles).toContainEqual(
      expect.objectContaining({
        name: 'jit-r-1a2b',
        builtIn: false,
        connectorManaged: true,
        actions: ['FIND'],
      }),
    );
    expect(roles).toContainEqual(
      expect.objectContaining({ name: 'reporting', connectorManaged: false, inheritedRoles: ['read@sales'] }),
    );
  });

  it('reports managed users from their labels and leaves unmanaged users out', async () => {
    const r = setup();
    const now = r.h.clock.now();
    await run(r);
    expect(ofType(r, 'managedUser')).toEqual([
      {
        type: 'managedUser',
        projectId: projectA,
        username: 'jit-alice-example-com-3f9a',
        strategy: 'per-requester',
        requester: 'req-alice',
        integrationId: 'int-db-1',
        clusters: ['Cluster0'],
        activeGrants: 1,
        earliestExpiry: new Date(now + 2 * hourMs).toISOString(),
        latestExpiry: new Date(now + 2 * hourMs).toISOString(),
        deleteAfterDate: atlasIso(now + 6 * dayMs),
      },
    ]);
  });

  // A deep-discovery integration's short-lived discovery user on the same project (it lives while
  // that discovery lists the cluster): no one's access, and it would change the snapshot twice.
  it('leaves a deep-discovery discovery user out of the managed users', async () => {
    const r = setup();
    const now = r.h.clock.now();
    r.h.atlas.addUser(projectA, {
      username: 'jit-discovery-0123456789ab',
      databaseName: 'admin',
      roles: [{ roleName: 'readAnyDatabase', databaseName: 'admin' }],
      scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
      labels: [
        { key: 'managed-by', value: 'atlas-jit-connector' },
        { key: 'jit-integration', value: 'org-int' },
        { key: 'jit-purpose', value: 'discovery' },
      ],
      deleteAfterDate: atlasIso(now + 30 * 60_000),
    });
    await run(r);
    expect(ofType(r, 'managedUser').map((u) => u.username)).toEqual(['jit-alice-example-com-3f9a']);
  });

  it('puts no connection string, host or password into the snapshot', async () => {
    const r = setup();
    await run(r);
    const text = JSON.stringify(r.uploads[0]?.records);
    for (const secretish of ['mongodb://', 'mongodb+srv', 'xq7ab', 'Secret-pw', 'app-service'])
      expect(text).not.toContain(secretish);
  });

  it('uploads with the fencing token as generation and counts what it found', async () => {
    const r = setup();
    const result = await run(r);
    expect(r.created[0]).toMatchObject({ integrationId: 'int-db-1', jobId: 'job-1', generation: 11 });
    expect(result).toMatchObject({
      skipped: false,
      counts: { projects: 2, clusters: 4, databases: 5, roles: 26, managedUsers: 1 },
    });
  });

  it('is skipped when nothing changed, and uploaded again once something did', async () => {
    const r = setup();
    const first = await run(r);
    const second = await run(r);
    expect(second).toMatchObject({ skipped: true, sha256: first.sha256 });
    r.h.atlas.addCustomRole(projectB, {
      roleName: 'jit-r-new',
      actions: [],
      inheritedRoles: [{ db: 'sales', role: 'read' }],
    });
    expect(await run(r)).toMatchObject({ skipped: false });
  });

  it('only reads: no Atlas write, no side-effect gate, every call carries the job signal', async () => {
    const r = setup();
    await run(r);
    const writes = r.h.atlas.methods().filter((m) => /create|update|delete|gate/.test(m));
    expect(writes).toEqual([]);
    expect(r.h.atlas.calls.every((call) => call.signalled)).toBe(true);
  });

  it('limits an atlas-project integration to its one cluster', async () => {
    const r = setup();
    const job = await atlasProjectJob({ projectId: projectA, clusterName: 'Private0' }, {});
    const result = await discover(job, r.deps, r.h.ctx);
    expect(ofType(r, 'cluster').map((c) => c.name)).toEqual(['Private0']);
    expect(ofType(r, 'database').map((d) => d.name)).toEqual(['ledger']);
    expect(result.counts).toMatchObject({ projects: 1, managedUsers: 0 });
    expect(r.h.atlas.callsTo('clusters.list')).toEqual([[projectA]]);
  });

  it("does not count a user scoped only to a Data Lake as one of the cluster's users", async () => {
    const r = setup();
    const now = r.h.clock.now();
    const ledgerOnPrivate0 = { cluster: 'Private0', roleName: 'read', databaseName: 'ledger' } as const;
    r.h.atlas.addUser(
      projectA,
      managedUser(
        {
          username: 'jit-bob-example-com-7c1d',
          grants: [{ id: 'g-2', expiresAtMs: now + hourMs, roles: [ledgerOnPrivate0] }],
          scopes: [{ name: 'lake0', type: 'DATA_LAKE' }],
        },
        now,
      ),
      'Other-Secret-pw',
    );
    // Atlas gives every cluster only to a user with no scopes at all; this one reaches no cluster.
    await discover(
      await atlasProjectJob({ projectId: projectA, clusterName: 'Cluster0' }, {}),
      r.deps,
      r.h.ctx,
    );
    expect(ofType(r, 'managedUser').map((u) => u.username)).toEqual(['jit-alice-example-com-3f9a']);
  });

  it('reports an allow-listed project the key cannot see, and skips projects the policy denies', async () => {
    const r = setup();
    const lost = '6602000000000000000000c3';
    const deps = { ...r.deps, policy: testPolicy({ allowedProjectIds: [projectA, lost] }) };
    await discover(
      await multiProjectJob(testConfig({ projectIds: [projectA, projectB, lost] }), {}),
      deps,
      r.h.ctx,
    );
    expect(ofType(r, 'project')).toContainEqual({
      type: 'project',
      id: lost,
      reachable: false,
      error: 'not_found',
    });
    expect(ofType(r, 'project').map((p) => p.id)).not.toContain(projectB);
  });

  it('reports a project Atlas refuses with 401 USER_CANNOT_ACCESS_GROUP (the key lost it) and uploads the others', async () => {
    // Atlas answers a key without a role in the project 401 USER_CANNOT_ACCESS_GROUP (the simulator
    // says 403); the client passes that up as it is. It reads the credential again for any other
    // 401 and sends once more, which is refused too.
    const refuse = (r: Run, body: unknown, times: number) =>
      r.h.atlas.beforeNext('projects.get', async () => {
        r.h.atlas.sim.hooks.answerNext({ operationId: 'getGroup', status: 401, body, times });
      });
    const lost = setup();
    refuse(
      lost,
      { error: 401, errorCode: 'USER_CANNOT_ACCESS_GROUP', detail: 'User cannot access this group.' },
      1,
    );
    await run(lost, testConfig({ projectIds: [projectB, projectA] }));
    expect(ofType(lost, 'project')).toContainEqual({
      type: 'project',
      id: projectB,
      reachable: false,
      error: 'forbidden',
    });
    expect(ofType(lost, 'cluster').map((c) => c.projectId)).toContain(projectA);
    // Any other 401 is about the credential itself: the job fails and nothing is uploaded.
    const rejected = setup();
    refuse(rejected, { error: 401, errorCode: 'USER_UNAUTHORIZED' }, 2);
    await expect(run(rejected, testConfig({ projectIds: [projectB] }))).rejects.toMatchObject({
      code: 'auth_failed',
    });
    expect(rejected.uploads).toEqual([]);
  });

  it('reports a cluster without the databases of a process that vanished, but fails on an outage', async () => {
    const gone = setup();
    gone.h.atlas.failNext('processes.listDatabases', 'HOSTNAME_AND_PORT_NOT_FOUND', 4);
    expect((await run(gone)).counts).toMatchObject({ clusters: 4, databases: 0 });
    const down = setup();
    down.h.atlas.failNext('processes.listDatabases', 'SERVICE_UNAVAILABLE');
    await expect(run(down)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(down.uploads).toEqual([]);
  });

  it.each([
    ['its clusters', 'clusters.list', 'listGroupClusters'],
    ['the project itself', 'projects.get', 'getGroup'],
  ])(
    'names the project when reading %s fails, which Atlas’s own message does not',
    async (_, method, operationId) => {
      const down = setup();
      down.h.atlas.failNext(method, 'SERVICE_UNAVAILABLE');
      await expect(run(down, testConfig({ projectIds: [projectB] }))).rejects.toMatchObject({
        code: 'upstream_unavailable',
        retryable: true,
        message: expect.stringMatching(
          new RegExp(`^project ${projectB}: ${operationId}: SERVICE_UNAVAILABLE`),
        ),
        details: { projectId: projectB, atlasErrorCode: 'SERVICE_UNAVAILABLE' },
      });
      expect(down.uploads).toEqual([]);
    },
  );

  describe('a project deleted after discovery listed or read it', () => {
    const gone = {
      error: 404,
      errorCode: 'GROUP_NOT_FOUND',
      detail: 'No group with ID exists.',
      reason: 'Not Found',
    };

    it('is left out of an inventory of every visible project, not a not_found that fails the whole job', async () => {
      const r = setup();
      r.h.atlas.answerNext('clusters.list', 404, gone);
      await run(r);
      const projects = ofType(r, 'project').map((p) => p.id);
      // One of the two projects went between the listing and its clusters' read; the other is whole.
      expect(projects).toHaveLength(1);
      expect(ofType(r, 'cluster').every((c) => c.projectId === projects[0])).toBe(true);
    });

    it('is reported gone when the configuration names it', async () => {
      const r = setup();
      r.h.atlas.answerNext('clusters.list', 404, gone);
      await run(r, testConfig({ projectIds: [projectB] }));
      expect(r.uploads[0]?.records).toEqual([
        { type: 'project', id: projectB, reachable: false, error: 'not_found' },
      ]);
    });
  });

  it('stops when the job is aborted, uploading nothing', async () => {
    const r = setup();
    r.h.abort.abort();
    await expect(run(r)).rejects.toMatchObject({ code: 'cancelled' });
    expect(r.uploads).toEqual([]);
  });

  it('parses its payload: an empty object, nothing else', () => {
    expect(discoverOperation.payloadSchema.safeParse({}).success).toBe(true);
    expect(discoverOperation.payloadSchema.safeParse({ projectId: projectA }).success).toBe(false);
  });
});

describe('dedicatedOnly', () => {
  it('drops a flex cluster that /clusters lists too (the spec: until January 2026), keeping the flex record', () => {
    const dedicated = [{ name: 'Cluster0' }, { name: 'Flex0' }];
    expect(dedicatedOnly(dedicated, [{ name: 'Flex0' }])).toEqual([{ name: 'Cluster0' }]);
    expect(dedicatedOnly(dedicated, [])).toEqual(dedicated);
  });
});

describe('discover: a project deleted while the key’s projects are walked', () => {
  /** Atlas pages by offset: a project deleted behind the cursor moves the next page up by one. */
  function offsetPaged<T>(items: () => readonly T[]) {
    return async (options: PageOptions = {}): Promise<Page<T>> => {
      const pageNum = options.pageNum ?? 1;
      const itemsPerPage = options.itemsPerPage ?? 100;
      const start = (pageNum - 1) * itemsPerPage;
      const results = items().slice(start, start + itemsPerPage);
      return { results, pageNum, hasNext: results.length >= itemsPerPage };
    };
  }

  it('still reports every project that existed throughout, though one deleted behind the cursor moved a page up', async () => {
    const r = setup();
    const hex = (i: number) => `66090000000000000000${i.toString(16).padStart(4, '0')}`;
    let live: Project[] = Array.from({ length: 101 }, (_, i) => ({
      id: hex(i),
      name: `p${i}`,
      orgId: 'org',
    }));
    const first = hex(0);
    const empty = offsetPaged<never>(() => []);
    const atlas: DiscoverAtlas = {
      projects: {
        list: offsetPaged(() => live),
        get: async (id) => {
          const project = live.find((p) => p.id === id);
          if (!project) throw new ConnectorError({ code: 'not_found', message: 'no such project' });
          return project;
        },
      },
      clusters: { list: async (_id, options) => empty(options) },
      flexClusters: { list: async (_id, options) => empty(options) },
      processes: {
        list: async (_id, options) => empty(options),
        listDatabases: async (_id, _process, options) => empty(options),
      },
      customDbRoles: { list: async () => [] },
      databaseUsers: {
        list: async (id, options) => {
          // The first project, read in full, is deleted in Atlas right after: the walk is on page 1.
          if (id === first) live = live.filter((p) => p.id !== first);
          return empty(options);
        },
      },
    };
    await discover(await multiProjectJob(testConfig(), {}), { ...r.deps, atlas }, r.h.ctx);
    const reported = new Set(ofType(r, 'project').map((p) => p.id));
    for (const project of live) expect(reported).toContain(project.id);
  });
});
