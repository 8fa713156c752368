import diagnostics from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { atlasRoutes, type StatsSnapshot } from '../../src/sandbox/atlas/index.js';

/**
 * Atlas calls per job, from the simulator's own request statistics (`sim.stats`): the difference
 * of two snapshots taken around one job, split into reads, writes and readiness polls. A Digest
 * challenge (401) and a 429 are round trips, not calls the job asked for: they are counted apart.
 */
export interface CallCounts {
  readonly reads: number;
  readonly writes: number;
  readonly polls: number;
  readonly challenges: number;
  readonly rateLimited: number;
  /** Client operation name (`databaseUsers.get`) → calls, for the breakdown in `details`. */
  readonly byOperation: Readonly<Record<string, number>>;
}

const apiPrefix = '/api/atlas/v2';
const pollOperation = 'getGroupClusterStatus';

/** The connector's names for the simulator's operation ids (`src/atlas/resources`). */
const clientNames: Readonly<Record<string, string>> = {
  getGroupCluster: 'clusters.get',
  getGroupClusterStatus: 'clusters.status',
  getGroupFlexCluster: 'flexClusters.get',
  getGroupLimit: 'projectLimits.get',
  listGroupDatabaseUsers: 'databaseUsers.list',
  getGroupDatabaseUser: 'databaseUsers.get',
  createGroupDatabaseUser: 'databaseUsers.create',
  updateGroupDatabaseUser: 'databaseUsers.update',
  deleteGroupDatabaseUser: 'databaseUsers.delete',
  listGroupCustomDbRoleRoles: 'customDbRoles.list',
};

const routeByKey: ReadonlyMap<string, (typeof atlasRoutes)[number]> = new Map(
  atlasRoutes.map((route) => [`${route.method} ${apiPrefix}${route.path}`, route]),
);

export function countCalls(before: StatsSnapshot, after: StatsSnapshot): CallCounts {
  let reads = 0;
  let writes = 0;
  let polls = 0;
  let challenges = 0;
  let rateLimited = 0;
  const byOperation: Record<string, number> = {};
  for (const [key, byStatus] of Object.entries(after.byRoute)) {
    const route = routeByKey.get(key);
    for (const [status, count] of Object.entries(byStatus)) {
      const n = count - (before.byRoute[key]?.[status] ?? 0);
      if (n <= 0) continue;
      if (status === '401') challenges += n;
      else if (status === '429') rateLimited += n;
      else {
        const op = route ? (clientNames[route.operationId] ?? route.operationId) : key;
        // A call answered with an error (a 404 read, a refused write) is still a call: named with it.
        const name = status.startsWith('2') ? op : `${op} (${status})`;
        byOperation[name] = (byOperation[name] ?? 0) + n;
        if (route?.operationId === pollOperation) polls += n;
        else if (route?.method === 'GET') reads += n;
        else writes += n;
      }
    }
  }
  return { reads, writes, polls, challenges, rateLimited, byOperation };
}

/**
 * Mean counts per job over `jobs` (by default one job per sample); the breakdown reads like
 * `clusters.get 1, databaseUsers.get (404) 1, databaseUsers.create 1`.
 */
export function meanCounts(
  samples: readonly CallCounts[],
  jobs = samples.length,
): {
  reads: number;
  writes: number;
  polls: number;
  challenges: number;
  rateLimited: number;
  breakdown: string;
} {
  const n = Math.max(1, jobs);
  const sum = (pick: (c: CallCounts) => number): number => samples.reduce((s, c) => s + pick(c), 0) / n;
  const ops = new Map<string, number>();
  for (const c of samples) {
    for (const [op, count] of Object.entries(c.byOperation)) ops.set(op, (ops.get(op) ?? 0) + count);
  }
  const breakdown = [...ops].map(([op, count]) => `${op} ${Number((count / n).toFixed(2))}`).join(', ');
  return {
    reads: sum((c) => c.reads),
    writes: sum((c) => c.writes),
    polls: sum((c) => c.polls),
    challenges: sum((c) => c.challenges),
    rateLimited: sum((c) => c.rateLimited),
    breakdown,
  };
}

interface Exchange {
  readonly poll: boolean;
  readonly start: number;
  end: number;
}

/**
 * When each simulator request arrived and when its answer was handed over (`performance.now()`,
 * from Node's `http.server.request.start` channel, like `ControlPlaneProbe`), so the calls of a
 * job that were on its critical path can be told from calls made side by side.
 */
export class SimulatorRequestLog {
  private readonly exchanges: Exchange[] = [];
  private readonly listener = (message: unknown): void => this.observe(message);

  constructor(private readonly port: number) {
    diagnostics.subscribe('http.server.request.start', this.listener);
  }

  close(): void {
    diagnostics.unsubscribe('http.server.request.start', this.listener);
  }

  /**
   * The longest chain of non-overlapping non-poll requests inside `[from, to]`: the calls other
   * than readiness polls that had to happen one after another. Equal to the count when the job
   * makes its calls one at a time; smaller if it makes some side by side.
   */
  sequentialCalls(from: number, to: number): number {
    const inside = this.exchanges
      .filter((e) => !e.poll && e.start >= from && e.end <= to && Number.isFinite(e.end))
      .sort((a, b) => a.end - b.end);
    let chain = 0;
    let lastEnd = Number.NEGATIVE_INFINITY;
    for (const e of inside) {
      if (e.start < lastEnd) continue;
      chain += 1;
      lastEnd = e.end;
    }
    return chain;
  }

  /** Start and end (performance.now ms) of each finished non-poll request inside `[from, to]`, in order. */
  spans(from: number, to: number): { start: number; end: number }[] {
    return this.exchanges
      .filter((e) => !e.poll && e.start >= from && e.end <= to && Number.isFinite(e.end))
      .sort((a, b) => a.start - b.start)
      .map((e) => ({ start: e.start, end: e.end }));
  }

  private observe(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { request, response } = message as { request?: unknown; response?: unknown };
    if (!(request instanceof IncomingMessage) || !(response instanceof ServerResponse)) return;
    if (request.socket.localPort !== this.port) return;
    const path = (request.url ?? '').split('?')[0] ?? '';
    const exchange: Exchange = {
      poll: /\/clusters\/[^/]+\/status$/.test(path),
      start: performance.now(),
      end: Number.POSITIVE_INFINITY,
    };
    this.exchanges.push(exchange);
    const end = response.end;
    response.end = function (this: ServerResponse, ...args: unknown[]) {
      exchange.end = performance.now();
      return Reflect.apply(end, this, args) as ServerResponse;
    } as typeof end;
  }
}
