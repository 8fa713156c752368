import {
  paginate,
  paginateComplete,
  type AtlasClient,
  type Page,
  type PageOptions,
} from '../../atlas/index.js';
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

/**
 * Every item of a listing that does not change while it is read (a completed backup snapshot's
 * databases and collections), each page fetched through the gate.
 */
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

/**
 * Every item of a live listing (clusters, processes, databases, backup snapshots), each page
 * fetched through the gate. Atlas pages by offset, so an item deleted behind the cursor moves the
 * next page up and the one at its head is never listed: a cluster or database left out of the
 * snapshot is taken as gone. So a listing of more than one page is read again once it ends
 * (`paginateComplete`; one page, the usual case, is read once). `keyOf` tells items apart.
 */
export async function collectComplete<T>(
  gate: CallGate,
  list: (options: PageOptions) => Promise<Page<T>>,
  signal: AbortSignal,
  keyOf: (item: T) => string,
): Promise<T[]> {
  const items: T[] = [];
  const gated = (options: PageOptions): Promise<Page<T>> => gate(() => list(options));
  const listing = { signal, itemsPerPage: bigPage, keyOf };
  for await (const item of paginateComplete(gated, listing)) items.push(item);
  return items;
}
