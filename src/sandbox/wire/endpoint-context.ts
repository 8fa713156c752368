import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import type { ClusterRec, DbUserRec } from '../atlas/model.js';
import type { Knobs } from '../atlas/knobs.js';
import type { SimState } from '../atlas/state.js';
import type { CursorStore } from './cursors.js';
import type { ScramConversation } from './scram-conversation.js';

/** What one cluster's endpoint shares between its connections. */
export interface EndpointContext {
  readonly state: SimState;
  readonly knobs: Knobs;
  readonly clock: Clock;
  readonly random: Random;
  readonly clusterId: string;
  /** `host:port` as clients dial it and `hello` reports it. */
  readonly address: string;
  readonly cursors: CursorStore;
}

/** The authenticated user of a connection, looked up again for every command. */
export interface SessionUser {
  readonly projectId: string;
  readonly username: string;
  /**
   * The user record it logged in as: a user dropped and created again under the same name is
   * another user, whose authority this connection does not get (a server compares user ids).
   */
  readonly record: DbUserRec;
}

/** One client connection's state. */
export interface Session {
  readonly connectionId: number;
  /** A hello (or isMaster) was answered: client metadata may come with the first one only. */
  helloSeen?: boolean;
  user?: SessionUser;
  conversation?: {
    readonly id: number;
    readonly scram: ScramConversation;
    /** The user record whose credential the proof is checked against. */
    readonly user: DbUserRec;
    /** The client asked to skip the final empty saslContinue round trip. */
    readonly skipEmptyExchange: boolean;
    finished: boolean;
  };
}

/** The cluster as the state holds it now (reset rebuilds the records, ids stay). */
export function currentCluster(ctx: EndpointContext): ClusterRec {
  const cluster = ctx.state.clusters.find((c) => c.id === ctx.clusterId);
  if (!cluster) throw new Error(`cluster ${ctx.clusterId} is no longer in the simulator state`);
  return cluster;
}
