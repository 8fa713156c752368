import { paginate, type AtlasClient, type Page, type PageOptions } from '../../atlas/index.js';
import type { CallGate } from './call-gate.js';

/** The read-only slice of the Atlas client deep discovery uses (the driver path adds its user). */
export interface OrgDiscoveryAtlas {
  readonly projects: Pick<AtlasClient['projects'], 'listForOrg'>;
  readonly clusters: Pick<AtlasClient['clusters'], 'list'>;
  readonly flexClusters: Pick<AtlasClient['flexClusters'], 'list'>;
  readonly processes: Pick<AtlasClient['processes'], 'list' | 'listDatabases'>;
  readonly customDbRoles: Pick<AtlasClient['customDbRoles'], 'list'>;
  readonly backupSnapshots: AtlasClient['backupSnapshots'];
}

/** Largest page Atlas serves: fewer round trips on big listings. */
export const bigPage = 500;

/** Every item of a listing, each page fetched through the gate. */
export async function collectAll<T>(
  gate: CallGate,
  list: (options: PageOptions) => Promise<Page<T>>,
  signal: AbortSignal,
): Promise<T[]> {
  const items: T[] = [];
  const gated = (options: PageOptions): Promise<Page<T>> => gate(() => list(options));
  for await (const item of paginate(gated, { signal, itemsPerPage: bigPage })) items.push(item);
  return items;
}
