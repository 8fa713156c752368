import type { AtlasClient } from '../atlas/index.js';
import type { Clock } from '../runtime/clock.js';
import { Readiness } from './database-access/atlas-writes/readiness.js';
import { RecentClusters } from './database-access/scope/cluster-lookup.js';

/**
 * What the connector keeps per Atlas credential besides the client: every cache or tracker that
 * must be shared by the jobs using one credential and by nothing else. Made by the Atlas client
 * pool (one per secret reference) in the composition root; a kind that needs more per-credential
 * state adds a field here, never a module-level map.
 */
export interface CredentialState {
  /** Changes made with this credential, per project, and the jobs waiting for them to apply. */
  readonly readiness: Readiness;
  /** Clusters read recently with this credential (grants skip a read within the TTL). */
  readonly recentClusters: RecentClusters;
}

export interface CredentialStateOptions {
  readonly clock: Clock;
  /** How long a job waits for its clusters to report APPLIED. */
  readonly readyTimeoutMs: number;
}

export function createCredentialState(atlas: AtlasClient, options: CredentialStateOptions): CredentialState {
  return {
    readiness: new Readiness({ atlas, clock: options.clock, readyTimeoutMs: options.readyTimeoutMs }),
    recentClusters: new RecentClusters(options.clock),
  };
}
