/** Request counts per route and status, for assertions and the `/__sim/stats` endpoint. */
export interface StatsSnapshot {
  readonly total: number;
  readonly rateLimited: number;
  readonly connectionResets: number;
  /** `"GET /api/atlas/v2/groups/{groupId}/databaseUsers"` → status (or `"reset"`) → count. */
  readonly byRoute: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export class SimulatorStats {
  private counts = new Map<string, Map<string, number>>();
  private totals = { total: 0, rateLimited: 0, connectionResets: 0 };

  record(routeKey: string, outcome: number | 'reset'): void {
    const byStatus = this.counts.get(routeKey) ?? new Map<string, number>();
    byStatus.set(String(outcome), (byStatus.get(String(outcome)) ?? 0) + 1);
    this.counts.set(routeKey, byStatus);
    this.totals.total += 1;
    if (outcome === 429) this.totals.rateLimited += 1;
    if (outcome === 'reset') this.totals.connectionResets += 1;
  }

  get total(): number {
    return this.totals.total;
  }

  get rateLimited(): number {
    return this.totals.rateLimited;
  }

  /** Requests to `routeKey` (all when omitted), optionally only those answered with `status`. */
  count(routeKey?: string, status?: number | 'reset'): number {
    let n = 0;
    for (const [key, byStatus] of this.counts) {
      if (routeKey !== undefined && key !== routeKey) continue;
      for (const [s, c] of byStatus) if (status === undefined || s === String(status)) n += c;
    }
    return n;
  }

  snapshot(): StatsSnapshot {
    const byRoute: Record<string, Record<string, number>> = {};
    for (const [key, byStatus] of this.counts) byRoute[key] = Object.fromEntries(byStatus);
    return { ...this.totals, byRoute };
  }

  reset(): void {
    this.counts.clear();
    this.totals = { total: 0, rateLimited: 0, connectionResets: 0 };
  }
}
