import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import type { Knobs } from './knobs.js';
import type { Actor, SimState } from './state.js';

/** Who may call an operation, after Atlas's `x-rolesRequirements` (least-privileged role). */
export type Access =
  | 'public'
  | 'orgMember'
  | 'orgReadOnly'
  | 'orgOwner'
  | 'groupRead'
  | 'groupDbAdmin'
  | 'groupAccessManager'
  | 'groupBackupManager'
  | 'groupOwner';

/** One media-type version an operation declares; `sunset` is the spec's `x-sunset` (YYYY-MM-DD). */
export interface VersionDef {
  readonly date: string;
  readonly sunset?: string;
}

export interface HandlerResult {
  readonly status: number;
  readonly body?: unknown;
}

/** Shared, long-lived parts of the simulator a handler may use. */
export interface SimContext {
  readonly state: SimState;
  readonly knobs: Knobs;
  readonly clock: Clock;
  readonly random: Random;
  /** Where links point: the simulator's own origin, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  /**
   * `wireKey(cluster id, via)` → `host:port` of every wire listener, standard and private ones
   * (empty when none is running).
   */
  wireByVia: ReadonlyMap<string, string>;
  /** Invitation timestamps per client address (Atlas limits invitations per IP), for the 10-per-minute limit. */
  readonly invitations: Map<string, number[]>;
  /** Every operation served, for `GET /rateLimits`. */
  readonly routes: readonly RouteDef[];
}

export interface RequestContext {
  readonly sim: SimContext;
  readonly route: RouteDef;
  /** Decoded path parameters. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The pathname as requested (still percent-encoded), for pagination links. */
  readonly rawPath: string;
  readonly body: unknown;
  /** The negotiated media-type version, e.g. `2023-01-01`. */
  readonly version: string;
  readonly actor: Actor;
  /** Epoch ms at which the request is served. */
  readonly now: number;
}

export type Handler = (ctx: RequestContext) => HandlerResult;

export interface RouteDef {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path template below `/api/atlas/v2`, e.g. `/groups/{groupId}/databaseUsers`; `''` is the root. */
  readonly path: string;
  readonly versions: readonly VersionDef[];
  readonly access: Access;
  /** True when the operation declares a request body. */
  readonly hasBody?: boolean;
  readonly handler: Handler;
}

/** Reads a path parameter the route template guarantees. */
export function param(ctx: RequestContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route ${ctx.route.path} has no parameter ${name}`);
  return value;
}

export const v20230101: readonly VersionDef[] = [{ date: '2023-01-01' }];
export const v20250219: readonly VersionDef[] = [{ date: '2025-02-19' }];
