import { Long } from 'bson';
import type { StoredDocument } from '../atlas/cluster-data.js';

interface OpenCursor {
  readonly namespace: string;
  /** `projectId/username` of the user who opened it: only they may page or kill it. */
  readonly owner: string;
  readonly remaining: StoredDocument[];
}

/** Open cursors of one endpoint; ids are non-zero int64, as a server issues them. */
export class CursorStore {
  private readonly open = new Map<string, OpenCursor>();
  private nextId = 1;

  constructor(private readonly idBase: number) {}

  /** Keeps `remaining` for later getMore calls; returns the cursor id (0 when nothing remains). */
  add(namespace: string, owner: string, remaining: StoredDocument[]): Long {
    if (remaining.length === 0) return Long.ZERO;
    const id = Long.fromNumber(this.idBase + this.nextId);
    this.nextId += 1;
    this.open.set(id.toString(), { namespace, owner, remaining });
    return id;
  }

  get(id: Long): OpenCursor | undefined {
    return this.open.get(id.toString());
  }

  /** Takes up to `count` documents; closes the cursor when none remain. Returns the id to report. */
  take(id: Long, count: number): { batch: StoredDocument[]; id: Long } {
    const cursor = this.open.get(id.toString());
    if (!cursor) return { batch: [], id: Long.ZERO };
    const batch = cursor.remaining.splice(0, count);
    if (cursor.remaining.length > 0) return { batch, id };
    this.open.delete(id.toString());
    return { batch, id: Long.ZERO };
  }

  kill(id: Long): boolean {
    return this.open.delete(id.toString());
  }
}
