import { z } from 'zod';
import { apiPrefix, atlasOperations, type RateScope } from '../operations.js';
import { paginate, type CallOptions, type Page, type PageOptions } from '../pagination.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { Transport } from '../transport.js';

const limitValue = z.object({ value: z.number() });

export const rateLimitSetSchema = z.object({
  endpointSetId: z.string().optional(),
  endpointSetName: z.string().optional(),
  scope: z.string(),
  endpoints: z.array(z.object({ method: z.string(), path: z.string() })).default([]),
  capacity: limitValue.optional(),
  refillRate: limitValue.optional(),
  refillDurationSeconds: limitValue.optional(),
});
export type RateLimitSet = z.infer<typeof rateLimitSetSchema>;

export type RateLimitTarget = { readonly groupId: string } | { readonly orgId: string };

export interface RateLimitListOptions extends PageOptions {
  readonly groupId?: string;
  readonly orgId?: string;
}

export interface RateLimitsApi {
  list(options?: RateLimitListOptions): Promise<Page<RateLimitSet>>;
  /**
   * Paces the limiter for one project or organization at the slowest refill rate among the
   * endpoint sets this client calls; returns the requests per minute chosen, or undefined when
   * Atlas reported none of our endpoints (the configured pace then stays).
   */
  sizeFromApi(target: RateLimitTarget, options?: CallOptions): Promise<number | undefined>;
}

/** `/api/atlas/v2/groups/{groupId}/x` → `GET /groups/{}/x`, so placeholder names do not matter. */
const endpointKey = (method: string, path: string): string =>
  `${method.toUpperCase()} ${path.replace(apiPrefix, '').replace(/\{[^}]*\}/g, '{}')}`;

const ourEndpoints: ReadonlySet<string> = new Set(
  Object.values(atlasOperations).map((spec) => endpointKey(spec.method, `${apiPrefix}${spec.path}`)),
);

function requestsPerMinute(set: RateLimitSet): number | undefined {
  const rate = set.refillRate?.value;
  const seconds = set.refillDurationSeconds?.value;
  if (!rate || !seconds || rate <= 0 || seconds <= 0) return undefined;
  return Math.max(1, Math.floor((rate * 60) / seconds));
}

export function createRateLimitsApi(transport: Transport, limiter: RateLimiter): RateLimitsApi {
  const list = (options: RateLimitListOptions = {}): Promise<Page<RateLimitSet>> =>
    transport.page(
      {
        operation: 'listRateLimits',
        query: { groupId: options.groupId, orgId: options.orgId },
        signal: options.signal,
      },
      options,
      rateLimitSetSchema,
    );

  return {
    list,
    async sizeFromApi(target, options = {}) {
      const scope: RateScope =
        'groupId' in target ? { kind: 'project', id: target.groupId } : { kind: 'org', id: target.orgId };
      const wanted = scope.kind === 'project' ? 'GROUP' : 'ORGANIZATION';
      let slowest: number | undefined;
      const sets = paginate((page) => list({ ...target, ...page }), {
        itemsPerPage: 500,
        signal: options.signal,
      });
      for await (const set of sets) {
        if (set.scope !== wanted) continue;
        if (!set.endpoints.some((endpoint) => ourEndpoints.has(endpointKey(endpoint.method, endpoint.path))))
          continue;
        const perMinute = requestsPerMinute(set);
        if (perMinute !== undefined) slowest = Math.min(slowest ?? perMinute, perMinute);
      }
      if (slowest !== undefined) limiter.resize(scope, slowest);
      return slowest;
    },
  };
}
