import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { ControlPlaneClient } from '../control-plane/control-plane-client.js';

export interface SnapshotUpload {
  readonly integrationId: string;
  readonly jobId: string;
  /** Orders snapshots: the job's fencing token, which the control plane increases on every lease. */
  readonly generation: number;
  /** One object per line; ordering does not matter (lines are sorted canonically). */
  readonly records: readonly unknown[];
  readonly signal?: AbortSignal;
}

export interface SnapshotUploader {
  upload(
    snapshot: SnapshotUpload,
  ): Promise<{ snapshotId: string; skipped: boolean; sha256: string; lines: number }>;
}

const maxPartBytes = 5 * 1024 * 1024;

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
 * Content-hashed discovery upload (agent-protocols §7.9): canonical sorted NDJSON, hashed; when
 * the control plane already has that hash it answers `skip` and nothing else is sent.
 */
export function createSnapshotUploader(
  client: Pick<ControlPlaneClient, 'createSnapshot' | 'putSnapshotPart' | 'commitSnapshot'>,
  connectorId: string,
): SnapshotUploader {
  return {
    async upload(snapshot) {
      const lines = snapshot.records.map(canonicalJson).sort();
      const text = lines.length > 0 ? `${lines.join('\n')}\n` : '';
      const sha256 = createHash('sha256').update(text).digest('hex');
      const parts = splitParts(Buffer.from(text, 'utf8'));
      const created = await client.createSnapshot(
        connectorId,
        {
          integrationId: snapshot.integrationId,
          jobId: snapshot.jobId,
          generation: snapshot.generation,
          contentSha256: sha256,
          parts: parts.length,
          sizeBytes: Buffer.byteLength(text),
        },
        snapshot.signal,
      );
      if (created.skip) return { snapshotId: created.snapshotId, skipped: true, sha256, lines: lines.length };
      for (const [index, part] of parts.entries()) {
        await client.putSnapshotPart(
          connectorId,
          created.snapshotId,
          index + 1,
          gzipSync(part),
          snapshot.signal,
        );
      }
      await client.commitSnapshot(connectorId, created.snapshotId, snapshot.signal);
      return { snapshotId: created.snapshotId, skipped: false, sha256, lines: lines.length };
    },
  };
}

/** Splits on line boundaries so each part stays under the 5 MiB limit before compression. */
function splitParts(bytes: Buffer): Buffer[] {
  if (bytes.length <= maxPartBytes) return [bytes];
  const parts: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + maxPartBytes);
    if (end < bytes.length) end = bytes.lastIndexOf(0x0a, end - 1) + 1 || end;
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return parts;
}
