import { clusterView, flexClusterView, processView } from '../cluster-views.js';
import type { RouteDef, VersionDef } from '../context.js';
import { param, v20230101 } from '../context.js';
import { atlasError } from '../errors.js';
import { paginate } from '../pagination.js';
import { selfLinks } from '../views.js';
import { requireCluster, requireProject } from './lookup.js';

/** The cluster API's three live representations; the two legacy ones sunset on 2027-07-01. */
const clusterVersions: readonly VersionDef[] = [
  { date: '2023-01-01', sunset: '2027-07-01' },
  { date: '2023-02-01', sunset: '2027-07-01' },
  { date: '2024-08-05' },
];
const flexVersions: readonly VersionDef[] = [{ date: '2024-11-13' }];

export const clusterRoutes: RouteDef[] = [
  {
    operationId: 'listGroupClusters',
    method: 'GET',
    path: '/groups/{groupId}/clusters',
    versions: clusterVersions,
    access: 'groupRead',
    handler: (ctx) => {
      const clusters = ctx.sim.state.clustersOf(requireProject(ctx).id, 'dedicated');
      return { status: 200, body: paginate(ctx, clusters, (c) => clusterView(ctx.sim, c, ctx.version)) };
    },
  },
  {
    operationId: 'getGroupCluster',
    method: 'GET',
    path: '/groups/{groupId}/clusters/{clusterName}',
    versions: clusterVersions,
    access: 'groupRead',
    handler: (ctx) => {
      const cluster = requireCluster(ctx, 'dedicated', param(ctx, 'clusterName'));
      return { status: 200, body: clusterView(ctx.sim, cluster, ctx.version) };
    },
  },
  {
    operationId: 'getGroupClusterStatus',
    method: 'GET',
    path: '/groups/{groupId}/clusters/{clusterName}/status',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const project = requireProject(ctx);
      const name = param(ctx, 'clusterName');
      const cluster = ctx.sim.state.findCluster(project.id, name);
      if (!cluster) throw atlasError('CLUSTER_NOT_FOUND', name, project.id);
      const changeStatus = ctx.sim.state.changeStatus(project.id, ctx.now, ctx.sim.knobs.propagationDelayMs);
      const links = selfLinks(ctx.sim, `/groups/${project.id}/clusters/${cluster.name}/status`);
      return { status: 200, body: { changeStatus, links } };
    },
  },
  {
    operationId: 'listGroupFlexClusters',
    method: 'GET',
    path: '/groups/{groupId}/flexClusters',
    versions: flexVersions,
    access: 'groupRead',
    handler: (ctx) => {
      const clusters = ctx.sim.state.clustersOf(requireProject(ctx).id, 'flex');
      return { status: 200, body: paginate(ctx, clusters, (c) => flexClusterView(ctx.sim, c)) };
    },
  },
  {
    operationId: 'getGroupFlexCluster',
    method: 'GET',
    path: '/groups/{groupId}/flexClusters/{name}',
    versions: flexVersions,
    access: 'groupRead',
    handler: (ctx) => ({
      status: 200,
      body: flexClusterView(ctx.sim, requireCluster(ctx, 'flex', param(ctx, 'name'))),
    }),
  },
  {
    operationId: 'listGroupProcesses',
    method: 'GET',
    path: '/groups/{groupId}/processes',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const clusters = ctx.sim.state.clustersOf(requireProject(ctx).id, 'dedicated');
      const processes = clusters.flatMap((c) => c.processes.map((p) => ({ c, p })));
      return { status: 200, body: paginate(ctx, processes, ({ c, p }) => processView(ctx.sim, c, p)) };
    },
  },
  {
    operationId: 'listGroupProcessDatabases',
    method: 'GET',
    path: '/groups/{groupId}/processes/{processId}/databases',
    versions: v20230101,
    access: 'groupRead',
    handler: (ctx) => {
      const project = requireProject(ctx);
      const processId = param(ctx, 'processId');
      const process = ctx.sim.state
        .clustersOf(project.id, 'dedicated')
        .flatMap((c) => c.processes)
        .find((p) => p.id === processId);
      if (!process) throw atlasError('HOSTNAME_AND_PORT_NOT_FOUND', processId, project.id);
      // A mongod also reports the system databases.
      const names = [...process.databases.map((d) => d.name), 'admin', 'config', 'local'];
      const base = `/groups/${project.id}/processes/${processId}/databases`;
      const view = (databaseName: string): object => ({
        databaseName,
        links: selfLinks(ctx.sim, `${base}/${databaseName}`),
      });
      return { status: 200, body: paginate(ctx, names, view) };
    },
  },
];
