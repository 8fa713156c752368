import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { SnapshotCreateRequest, SnapshotCreateResponse } from '../../control-plane/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import { protocolError } from './protocol-errors.js';

/** Largest decoded part; a defence against a gzip bomb in a sandbox that holds everything in memory. */
const maxDecodedPartBytes = 64 * 1024 * 1024;
/** Largest decoded snapshot, all parts together: many parts just under the part cap are a bomb too. */
export const maxDecodedSnapshotBytes = 256 * 1024 * 1024;

export type SnapshotStatus = 'open' | 'skipped' | 'committed';

export interface SnapshotRecord {
  readonly snapshotId: string;
  readonly connectorId: string;
  readonly request: SnapshotCreateRequest;
  readonly createdAt: string;
  status: SnapshotStatus;
  readonly parts: Map<number, Buffer>;
  committedAt: string | null;
  /** Decoded NDJSON lines, once committed. */
  lines: readonly string[];
  /**
   * Sub-integration id → the connector serving it, from the lines of type `subIntegration`, plus
   * the previous commit's entries for projects a `project` line says could not be listed.
   */
  subIntegrations: ReadonlyMap<string, Routed>;
}

/**
 * Where a snapshot routes one sub-integration. `seenAt`: the generation of the listing that said
 * so, for an entry carried over from an earlier commit (its project could not be listed since);
 * absent when this snapshot listed it, which its view's generation (a skip confirms it) dates.
 */
interface Routed {
  readonly connectorId: string;
  readonly seenAt?: number;
}

interface Committed {
  readonly snapshotId: string;
  readonly generation: number;
  readonly contentSha256: string;
}

export interface SnapshotStoreDeps {
  readonly clock: Pick<Clock, 'now'>;
  readonly random: Pick<Random, 'uuid'>;
  /** Default `maxDecodedSnapshotBytes`. */
  readonly maxDecodedBytes?: number;
}

/**
 * Discovery snapshots: content-hashed (an unchanged hash is skipped, which confirms the committed
 * content at the new generation) and fenced by generation per connector and integration (a create
 * or commit older than that connector's last committed or confirmed one is refused).
 * Each connector reports its own view of an integration: with deep discovery, several connectors
 * (one per network) discover the same organization and each reports the clusters it serves.
 */
export class SnapshotStore {
  private readonly snapshots = new Map<string, SnapshotRecord>();
  private readonly lastCommitted = new Map<string, Committed>();

  constructor(private readonly deps: SnapshotStoreDeps) {}

  create(connectorId: string, request: SnapshotCreateRequest): SnapshotCreateResponse {
    const key = viewKey(connectorId, request.integrationId);
    const last = this.lastCommitted.get(key);
    this.refuseStale(request, last);
    const skip = last?.contentSha256 === request.contentSha256;
    // A skip confirms the committed content at this generation: routing ranks views by it, and an
    // older attempt still open must now be refused at commit as it would be after a newer commit.
    if (skip) this.lastCommitted.set(key, { ...last, generation: request.generation });
    const snapshot: SnapshotRecord = {
      snapshotId: this.deps.random.uuid(),
      connectorId,
      request,
      createdAt: this.isoNow(),
      status: skip ? 'skipped' : 'open',
      parts: new Map(),
      committedAt: null,
      lines: [],
      subIntegrations: new Map(),
    };
    this.snapshots.set(snapshot.snapshotId, snapshot);
    return { snapshotId: snapshot.snapshotId, skip };
  }

  putPart(connectorId: string, snapshotId: string, part: number, gzipped: Buffer): void {
    const snapshot = this.require(connectorId, snapshotId);
    if (!Number.isInteger(part) || part < 1 || part > snapshot.request.parts) {
      throw protocolError('invalid_request', `part: must be an integer from 1 to ${snapshot.request.parts}`);
    }
    if (snapshot.status !== 'open') {
      throw protocolError(
        'invalid_request',
        `snapshot ${snapshotId} is ${snapshot.status}; parts are closed`,
        409,
      );
    }
    snapshot.parts.set(part, gzipped);
  }

  /** Idempotent: committing a committed (or skipped) snapshot again answers the same. */
  commit(connectorId: string, snapshotId: string): { snapshotId: string; committed: true } {
    const snapshot = this.require(connectorId, snapshotId);
    if (snapshot.status !== 'open') return { snapshotId, committed: true };
    const { request } = snapshot;
    const key = viewKey(connectorId, request.integrationId);
    this.refuseStale(request, this.lastCommitted.get(key));
    const content = decodeParts(snapshot, this.deps.maxDecodedBytes ?? maxDecodedSnapshotBytes);
    const sha = createHash('sha256').update(content).digest('hex');
    if (sha !== request.contentSha256) {
      throw protocolError('invalid_request', `contentSha256: parts hash to ${sha}`, 422);
    }
    snapshot.lines = ndjsonLines(content.toString('utf8'));
    const last = this.lastCommitted.get(key);
    const previous = last && this.snapshots.get(last.snapshotId);
    snapshot.subIntegrations = subIntegrationIndex(
      snapshot.lines,
      previous && last ? { routes: previous.subIntegrations, generation: last.generation } : undefined,
    );
    snapshot.status = 'committed';
    snapshot.committedAt = this.isoNow();
    snapshot.parts.clear();
    this.lastCommitted.set(key, {
      snapshotId,
      generation: request.generation,
      contentSha256: request.contentSha256,
    });
    return { snapshotId, committed: true };
  }

  /** Committed snapshots, oldest first. */
  committed(integrationId?: string): SnapshotRecord[] {
    return [...this.snapshots.values()].filter(
      (s) =>
        s.status === 'committed' &&
        (integrationId === undefined || s.request.integrationId === integrationId),
    );
  }

  /**
   * The connector serving a sub-integration, as the newest committed snapshot of the integration
   * that lists it says (every connector lists every cluster, with the `connectorId` its tags name).
   */
  connectorFor(integrationId: string, subIntegrationId: string): string | undefined {
    // Ranked by when the listing that routed it ran: a view carrying an entry over from before its
    // project stopped being listed does not put that older routing above another connector's newer one.
    let best: { readonly connectorId: string; readonly at: number } | undefined;
    for (const [key, committed] of this.lastCommitted) {
      if (!key.endsWith(`\u0000${integrationId}`)) continue;
      const found = this.snapshots.get(committed.snapshotId)?.subIntegrations.get(subIntegrationId);
      const at = found?.seenAt ?? committed.generation;
      if (found !== undefined && (best === undefined || at > best.at))
        best = { connectorId: found.connectorId, at };
    }
    return best?.connectorId;
  }

  all(): SnapshotRecord[] {
    return [...this.snapshots.values()];
  }

  private refuseStale(request: SnapshotCreateRequest, last: Committed | undefined): void {
    if (last && request.generation < last.generation) {
      throw protocolError(
        'stale_generation',
        `generation ${request.generation} is older than committed generation ${last.generation}`,
      );
    }
  }

  private require(connectorId: string, snapshotId: string): SnapshotRecord {
    const snapshot = this.snapshots.get(snapshotId);
    if (!snapshot || snapshot.connectorId !== connectorId) {
      throw protocolError('not_found', `snapshot ${snapshotId} does not exist for connector ${connectorId}`);
    }
    return snapshot;
  }

  private isoNow(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}

function viewKey(connectorId: string, integrationId: string): string {
  return `${connectorId}\u0000${integrationId}`;
}

/**
 * A `project` line says that project's clusters could not be listed: its sub-integrations are
 * unknown, not absent, so those the connector's previous commit listed keep their routing.
 */
function subIntegrationIndex(
  lines: readonly string[],
  previous: { readonly routes: ReadonlyMap<string, Routed>; readonly generation: number } | undefined,
): Map<string, Routed> {
  const index = new Map<string, Routed>();
  const unlistedProjects = new Set<string>();
  for (const line of lines) {
    if (!line.includes('"subIntegration"') && !line.includes('"project"')) continue;
    const record: unknown = JSON.parse(line);
    if (typeof record !== 'object' || record === null) continue;
    const { type, id, connectorId } = record as Record<string, unknown>;
    if (typeof id !== 'string') continue;
    if (type === 'project') unlistedProjects.add(id);
    if (type === 'subIntegration' && typeof connectorId === 'string') index.set(id, { connectorId });
  }
  for (const [id, routed] of previous?.routes ?? []) {
    // Ids are `<projectId>:<cluster>` (protocol §4.8).
    const projectId = id.split(':', 1)[0] ?? '';
    if (!unlistedProjects.has(projectId) || index.has(id)) continue;
    index.set(id, { connectorId: routed.connectorId, seenAt: routed.seenAt ?? previous?.generation ?? 0 });
  }
  return index;
}

function decodeParts(snapshot: SnapshotRecord, maxDecodedBytes: number): Buffer {
  const decoded: Buffer[] = [];
  let total = 0;
  for (let part = 1; part <= snapshot.request.parts; part += 1) {
    const gzipped = snapshot.parts.get(part);
    if (!gzipped) throw protocolError('invalid_request', `part ${part} was not uploaded`, 422);
    const left = maxDecodedBytes - total;
    let content: Buffer;
    try {
      content = gunzipSync(gzipped, { maxOutputLength: Math.min(maxDecodedPartBytes, left) });
    } catch {
      const why =
        left < maxDecodedPartBytes ? `takes the snapshot over ${maxDecodedBytes} bytes decoded or ` : '';
      throw protocolError('invalid_request', `part ${part} ${why}is not valid gzip`, 422);
    }
    total += content.length;
    decoded.push(content);
  }
  return Buffer.concat(decoded);
}

function ndjsonLines(text: string): string[] {
  const lines = text.split('\n').filter((line) => line.length > 0);
  lines.forEach((line, index) => {
    try {
      JSON.parse(line);
    } catch {
      throw protocolError('invalid_request', `NDJSON line ${index + 1} is not JSON`, 422);
    }
  });
  return lines;
}
