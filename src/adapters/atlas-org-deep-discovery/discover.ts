import { getMaxListeners, setMaxListeners } from 'node:events';
import { paginateComplete, type Project } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { SnapshotLines } from '../snapshot-uploader.js';
import type { JobContext } from '../../worker/job-context.js';
import type { AdapterDeps } from '../adapter.js';
import { allowedByPolicy } from '../../config/env.js';
import { forEachBounded } from '../database-access/scope/projects-in-scope.js';
import { createCallGate } from './call-gate.js';
import { readServedClusters, type ProjectWalk } from './cluster-findings.js';
import type { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';
import type { DiscoveryUserAtlas } from './discovery-user.js';
import type { NamespaceReader } from './namespace-reader.js';
import { bigPage, collectComplete, type OrgDiscoveryAtlas } from './org-atlas.js';
import { projectClusters, type OrgCluster, type ProjectClusters } from './org-cluster.js';
import { routeCluster, type Route, type Routing } from './routing.js';
import {
  subIntegrationRecord,
  type ClusterFindings,
  type DeepDiscoveryRecord,
  type ProjectFailureRecord,
} from './sub-integration.js';

export type DeepDiscoverDeps = Pick<
  AdapterDeps,
  'clock' | 'random' | 'policy' | 'snapshots' | 'registerSecret' | 'readiness'
> & {
  readonly atlas: OrgDiscoveryAtlas & DiscoveryUserAtlas;
  /** This connector's CONNECTOR_ID; untagged clusters go to the config's `connectorId` (default: this). */
  readonly connectorId: string;
  readonly reader: NamespaceReader | undefined;
};

export interface DeepDiscoverCounts {
  readonly projects: number;
  readonly subIntegrations: number;
  readonly served: number;
  readonly elsewhere: number;
  readonly unroutable: number;
  readonly degraded: number;
  readonly unavailable: number;
  readonly projectFailures: number;
}

export interface DeepDiscoverResult {
  readonly snapshotId: string;
  readonly skipped: boolean;
  readonly sha256: string;
  readonly connectorId: string;
  readonly counts: DeepDiscoverCounts;
}

type Served = { cluster: OrgCluster; route: Extract<Route, { kind: 'served' }> };

function failure(
  walk: ProjectWalk,
  project: Pick<Project, 'id' | 'name'>,
  error: unknown,
): ProjectFailureRecord {
  if (!isConnectorError(error) || error.code === 'cancelled') throw error;
  return {
    type: 'project',
    id: project.id,
    name: project.name,
    reason: `clusters could not be listed: ${walk.ctx.describe(error)}`,
  };
}

/** A cluster's name is unique in its project; its `id` is optional in the schema. */
const byName = (cluster: { readonly name: string }): string => cluster.name;

async function clustersOf(walk: ProjectWalk, projectId: string): Promise<ProjectClusters> {
  const { atlas, gate, ctx } = walk;
  const [dedicated, flex] = await Promise.all([
    collectComplete(gate, (page) => atlas.clusters.list(projectId, page), ctx.signal, byName),
    collectComplete(gate, (page) => atlas.flexClusters.list(projectId, page), ctx.signal, byName),
  ]);
  return projectClusters(dedicated, flex);
}

const pausedFindings: ClusterFindings = { problems: ['cluster is paused: nothing read'], unavailable: true };

async function discoverProject(
  walk: ProjectWalk,
  routing: Routing,
  project: Project,
): Promise<DeepDiscoveryRecord[]> {
  let clusters: ProjectClusters;
  try {
    clusters = await clustersOf(walk, project.id);
  } catch (error) {
    return [failure(walk, project, error)];
  }
  const allowed = walk.config.clusterNames;
  const routed = clusters.subIntegrations
    .filter((cluster) => allowed === undefined || allowed.includes(cluster.name))
    .map((cluster) => ({ cluster, route: routeCluster(cluster, walk.config.tagKeys, routing, walk.ctx) }));
  const served = routed.filter((entry): entry is Served => entry.route.kind === 'served');
  const readable = served.filter((entry) => !entry.cluster.paused);
  const findings =
    readable.length > 0 ? await readServedClusters(walk, project.id, clusters.all, readable) : new Map();
  return routed.map(({ cluster, route }) =>
    subIntegrationRecord({
      project,
      cluster,
      route,
      ownerTagKey: walk.config.tagKeys.owner,
      findings: cluster.paused ? pausedFindings : findings.get(cluster.name),
    }),
  );
}

/**
 * The organization's projects in scope, streamed page by page (500 a page, org bucket). Atlas
 * pages by offset, so a project deleted behind the cursor moves the next page up and the one at
 * its head is never listed: its clusters, left out of the snapshot, would be taken as gone. So a
 * listing of more than one page is read again once it ends (`paginateComplete`).
 */
async function* orgProjects(
  walk: ProjectWalk,
  deps: Pick<DeepDiscoverDeps, 'policy'>,
  seen: Set<string>,
): AsyncGenerator<Project, void, undefined> {
  const { config, atlas, gate, ctx } = walk;
  const list = (page: { pageNum?: number; itemsPerPage?: number }) =>
    gate(() => atlas.projects.listForOrg(config.orgId, { ...page, signal: ctx.signal }));
  for await (const project of paginateComplete(list, { itemsPerPage: bigPage, signal: ctx.signal })) {
    // Yielded once, though listed again on a shifted page or by a later listing.
    seen.add(project.id);
    if (config.projectIds !== undefined && !config.projectIds.includes(project.id)) continue;
    if (allowedByPolicy(project.id, deps.policy)) yield project;
  }
}

/** Counts records as they are found, so the records themselves need not be kept. */
class Tally {
  private readonly states = new Map<string, number>();
  private subs = 0;
  private failures = 0;

  add(record: DeepDiscoveryRecord): void {
    if (record.type !== 'subIntegration') {
      this.failures += 1;
      return;
    }
    this.subs += 1;
    this.states.set(record.state, (this.states.get(record.state) ?? 0) + 1);
  }

  counts(projects: number): DeepDiscoverCounts {
    const count = (state: string): number => this.states.get(state) ?? 0;
    return {
      projects,
      subIntegrations: this.subs,
      served: this.subs - count('elsewhere'),
      elsewhere: count('elsewhere'),
      unroutable: count('unroutable'),
      degraded: count('degraded'),
      unavailable: count('unavailable'),
      projectFailures: this.failures,
    };
  }
}

/**
 * Every project of the organization → every cluster (dedicated and flex) → one sub-integration
 * record. Clusters another connector serves are listed, never read. One cluster (or project)
 * failing marks its record with a reason; only failing to list the organization fails the job.
 * Projects are walked `2 × discoveryConcurrency` at a time under a gate of `discoveryConcurrency`
 * Atlas calls in flight, so memory and load stay bounded however large the organization is.
 */
export async function deepDiscover(
  input: { readonly config: DeepDiscoveryConfig; readonly integration: { readonly id: string } },
  deps: DeepDiscoverDeps,
  ctx: Pick<JobContext, 'jobId' | 'fencingToken' | 'signal' | 'beforeSideEffect' | 'describe'>,
): Promise<DeepDiscoverResult> {
  const { config } = input;
  // Each call in flight (up to discoveryConcurrency, plus pacing waits) holds one abort listener
  // on the job's signal, removed when it settles: more than Node's default warning threshold of 10.
  setMaxListeners(Math.max(getMaxListeners(ctx.signal), config.discoveryConcurrency * 2 + 10), ctx.signal);
  const routing: Routing = {
    self: deps.connectorId,
    integrationConnectorId: config.connectorId ?? deps.connectorId,
  };
  const walk: ProjectWalk = {
    config,
    integrationId: input.integration.id,
    atlas: deps.atlas,
    gate: createCallGate(config.discoveryConcurrency),
    user: { ...deps, atlas: deps.atlas },
    reader: deps.reader,
    // Not the job's context itself: readiness waits give the worker slot back (releaseSlot), which
    // only a job that merely waits may do; discovery walks on across the organization after each.
    ctx: {
      signal: ctx.signal,
      beforeSideEffect: () => ctx.beforeSideEffect(),
      describe: (error) => ctx.describe(error),
    },
  };
  // Each record becomes its canonical snapshot line as soon as its project is done: the job holds
  // flat strings, not thousands of nested objects, until the upload.
  const lines = new SnapshotLines();
  const tally = new Tally();
  const keep = (record: DeepDiscoveryRecord): void => {
    lines.add(record);
    tally.add(record);
  };
  const seen = new Set<string>();
  let projects = 0;
  await forEachBounded(orgProjects(walk, deps, seen), config.discoveryConcurrency * 2, async (project) => {
    projects += 1;
    for (const record of await discoverProject(walk, routing, project)) keep(record);
  });
  for (const id of config.projectIds ?? []) {
    if (!seen.has(id)) keep({ type: 'project', id, reason: `not a project of organization ${config.orgId}` });
  }
  const upload = await deps.snapshots.upload({
    integrationId: input.integration.id,
    jobId: ctx.jobId,
    generation: ctx.fencingToken,
    lines,
    signal: ctx.signal,
  });
  return { ...upload, connectorId: deps.connectorId, counts: tally.counts(projects) };
}
