import type { Cluster, FlexCluster } from '../../atlas/index.js';
import {
  dedicatedClusterView,
  dedicatedOnly,
  flexClusterView,
  type ClusterView,
} from '../database-access/discover/discover-records.js';

/** A cluster of the organization as deep discovery sees it: dedicated or flex, with its backup flag. */
export interface OrgCluster extends ClusterView {
  readonly flex: boolean;
  readonly backupEnabled: boolean;
}

export function fromDedicated(cluster: Cluster): OrgCluster {
  return { ...dedicatedClusterView(cluster), flex: false, backupEnabled: cluster.backupEnabled ?? false };
}

export function fromFlex(cluster: FlexCluster): OrgCluster {
  return {
    ...flexClusterView(cluster),
    flex: true,
    backupEnabled: cluster.backupSettings?.enabled ?? false,
  };
}

/**
 * Customer clusters only: Atlas also lists its own system and shadow clusters
 * (`internalClusterRole` other than NONE) and clusters being deleted; none is a sub-integration.
 */
export function isCustomerCluster(cluster: Cluster): boolean {
  return (cluster.internalClusterRole ?? 'NONE') === 'NONE';
}

export function isLive(cluster: OrgCluster): boolean {
  return cluster.stateName !== 'DELETING';
}

/**
 * A project's clusters as discovery needs them. `all`: every cluster the project lists, internal
 * ones and those being deleted included, which processes are matched against — the matcher also
 * decides by elimination ("the only cluster of the project with this domain"), so a cluster left
 * out would have its mongods, and their databases, credited to another. `subIntegrations`: the
 * customer clusters not being deleted, the ones that become records.
 */
export interface ProjectClusters {
  readonly all: OrgCluster[];
  readonly subIntegrations: OrgCluster[];
}

export function projectClusters(
  dedicated: readonly Cluster[],
  flex: readonly FlexCluster[],
): ProjectClusters {
  const flexViews = flex.map(fromFlex);
  const own = dedicatedOnly(dedicated, flex);
  return {
    all: [...own.map(fromDedicated), ...flexViews],
    subIntegrations: [...own.filter(isCustomerCluster).map(fromDedicated), ...flexViews].filter(isLive),
  };
}
