import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ControlPlaneClient } from '../control-plane/control-plane-client.js';
import { blipRetry, withRetry } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import type { Random } from '../runtime/random.js';

export interface SnapshotUpload {
  readonly integrationId: string;
  readonly jobId: string;
  /** Orders snapshots: the job's fencing token, which the control plane increases on every lease. */
  readonly generation: number;
  /** One object per line; ordering does not matter (lines are sorted canonically). */
  readonly records: readonly unknown[];
  readonly signal?: AbortSignal;
}

/**
 * The same upload with its records already held as canonical lines: what a large discovery uses,
 * so it never holds every record as an object graph.
 */
export type SnapshotLinesUpload = Omit<SnapshotUpload, 'records'> & { readonly lines: SnapshotLines };

export interface SnapshotUploader {
  upload(
    snapshot: SnapshotUpload | SnapshotLinesUpload,
  ): Promise<{ snapshotId: string; skipped: boolean; sha256: string; lines: number }>;
}

/** The protocol's limit on one part, before compression (agent-protocols §7.9). */
const maxPartBytes = 5 * 1024 * 1024;

const gzipAsync = promisify(gzip);

/** JSON with object keys sorted, so equal content always hashes equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A snapshot's records kept as canonical JSON lines as they are found: a line is a third smaller
 * than the record it came from and is one flat string, so an organization-wide discovery holds a
 * few MB of strings instead of thousands of nested objects until the upload.
 */
export class SnapshotLines {
  private readonly lines: string[] = [];

  add(record: unknown): void {
    this.lines.push(canonicalJson(record));
  }

  get size(): number {
    return this.lines.length;
  }

  /** The lines, sorted in place (the canonical order); the collector is not used after this. */
  sorted(): readonly string[] {
    return this.lines.sort();
  }
}

/** One part: lines `[from, to)`, or the bytes `[start, end)` of one line longer than a part. */
type PartPlan =
  | { readonly from: number; readonly to: number }
  | { readonly line: number; readonly start: number; readonly end: number };

/**
 * Parts of at most `limit` bytes (each line with its `\n`), cut on line boundaries; only a line
 * longer than a part is cut inside, by bytes; no lines → one empty part. Computed from lengths alone, so the snapshot text is
 * never built whole: each part is assembled, compressed and sent in turn.
 */
export function planParts(lineBytes: readonly number[], limit: number): PartPlan[] {
  const parts: PartPlan[] = [];
  let from = 0;
  let bytes = 0;
  lineBytes.forEach((length, index) => {
    if (bytes > 0 && bytes + length > limit) {
      parts.push({ from, to: index });
      from = index;
      bytes = 0;
    }
    if (length > limit) {
      for (let start = 0; start < length; start += limit) {
        parts.push({ line: index, start, end: Math.min(length, start + limit) });
      }
      from = index + 1;
      return;
    }
    bytes += length;
  });
  if (bytes > 0 || parts.length === 0) parts.push({ from, to: lineBytes.length });
  return parts;
}

function partBytes(plan: PartPlan, lines: readonly string[]): Buffer {
  if ('line' in plan)
    return Buffer.from(`${lines[plan.line] ?? ''}\n`, 'utf8').subarray(plan.start, plan.end);
  if (plan.from === plan.to) return Buffer.alloc(0);
  return Buffer.from(`${lines.slice(plan.from, plan.to).join('\n')}\n`, 'utf8');
}

/**
 * Content-hashed discovery upload (agent-protocols §7.9): canonical sorted NDJSON, hashed; when
 * the control plane already has that hash it answers `skip` and nothing else is sent. The hash and
 * size are computed line by line, and parts are built, gzipped (off the event loop) and sent one
 * at a time, so memory beyond the lines themselves is one part, however large the snapshot.
 */
export interface SnapshotUploaderOptions {
  readonly maxPartBytes?: number;
  /**
   * Retries a part or the commit that failed on a blip (both are idempotent: a part can be sent
   * again until the commit, and a commit again answers 200). Without it, a reset during a large
   * organization's upload would redo the whole discovery. Absent: one try each.
   */
  readonly retry?: {
    readonly clock: Pick<Clock, 'sleep' | 'monotonic'>;
    readonly random: Pick<Random, 'float'>;
  };
}

export function createSnapshotUploader(
  client: Pick<ControlPlaneClient, 'createSnapshot' | 'putSnapshotPart' | 'commitSnapshot'>,
  connectorId: string,
  options: SnapshotUploaderOptions = {},
): SnapshotUploader {
  const limit = options.maxPartBytes ?? maxPartBytes;
  const { retry } = options;
  const send = (call: () => Promise<void>, signal: AbortSignal | undefined): Promise<void> =>
    retry ? withRetry(call, { ...blipRetry, ...retry, ...(signal ? { signal } : {}) }) : call();
  return {
    async upload(snapshot) {
      const lines =
        'lines' in snapshot ? snapshot.lines.sorted() : snapshot.records.map(canonicalJson).sort();
      const hash = createHash('sha256');
      const lineBytes = lines.map((line) => {
        hash.update(line, 'utf8').update('\n');
        return Buffer.byteLength(line, 'utf8') + 1;
      });
      const sha256 = hash.digest('hex');
      const parts = planParts(lineBytes, limit);
      const created = await client.createSnapshot(
        connectorId,
        {
          integrationId: snapshot.integrationId,
          jobId: snapshot.jobId,
          generation: snapshot.generation,
          contentSha256: sha256,
          parts: parts.length,
          sizeBytes: lineBytes.reduce((sum, bytes) => sum + bytes, 0),
        },
        snapshot.signal,
      );
      if (created.skip) return { snapshotId: created.snapshotId, skipped: true, sha256, lines: lines.length };
      for (const [index, plan] of parts.entries()) {
        const body = await gzipAsync(partBytes(plan, lines));
        await send(
          () => client.putSnapshotPart(connectorId, created.snapshotId, index + 1, body, snapshot.signal),
          snapshot.signal,
        );
      }
      await send(
        () => client.commitSnapshot(connectorId, created.snapshotId, snapshot.signal),
        snapshot.signal,
      );
      return { snapshotId: created.snapshotId, skipped: false, sha256, lines: lines.length };
    },
  };
}
