import type { Cluster, FlexCluster } from '../../atlas/index.js';
import {
  dedicatedClusterView,
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
