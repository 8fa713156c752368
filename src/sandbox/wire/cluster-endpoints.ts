import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import type { Knobs } from '../atlas/knobs.js';
import type { SimState } from '../atlas/state.js';
import { serveConnection, type ConnectionDrop } from './connection.js';
import { CursorStore } from './cursors.js';
import type { EndpointContext } from './endpoint-context.js';

export interface WireEndpointDeps {
  readonly state: SimState;
  readonly knobs: Knobs;
  readonly clock: Clock;
  readonly random: Random;
  /** Loopback address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Told when a connection is dropped for garbage or OP_COMPRESSED. */
  readonly onDrop?: (clusterId: string, drop: ConnectionDrop) => void;
}

/**
 * Which of a cluster's published connection strings a listener stands for: `standard`, `private`
 * (VPC peering) or `privateEndpoint:<i>` (the i-th `privateEndpoint[]` element).
 */
export type WireVia = 'standard' | 'private' | `privateEndpoint:${number}`;

/** One listener to start: a cluster, reached through one connection type. */
export interface WireTarget {
  readonly clusterId: string;
  readonly via: WireVia;
}

/** The listener key of a cluster's connection type in {@link WireEndpoints.byVia}. */
export const wireKey = (clusterId: string, via: WireVia): string => `${clusterId}|${via}`;

/** The running endpoints: cluster id → `host:port` a driver dials. */
export interface WireEndpoints {
  /** Cluster id → the `standard` listener's `host:port`. */
  readonly addresses: ReadonlyMap<string, string>;
  /** {@link wireKey}(cluster id, via) → `host:port`, every listener (standard ones too). */
  readonly byVia: ReadonlyMap<string, string>;
  /** Requests answered so far by all endpoints (one per client round trip): for benchmarks. */
  requests(): number;
  close(): Promise<void>;
}

function listen(server: Server, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

const isPaused = (ctx: EndpointContext): boolean =>
  ctx.state.clusters.find((c) => c.id === ctx.clusterId)?.paused === true;

async function startOne(
  deps: WireEndpointDeps,
  clusterId: string,
  index: number,
  onRequest: () => void,
): Promise<{ address: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  // The context needs the bound port, so it is filled in once listening; no client can come earlier.
  const holder: { ctx?: EndpointContext } = {};
  let connections = 0;
  const server = createServer((socket) => {
    const ctx = holder.ctx;
    // A paused Atlas cluster has no running hosts: the connection is refused, nothing is served.
    if (!ctx || isPaused(ctx)) return void socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    connections += 1;
    serveConnection(socket, ctx, connections, (drop) => deps.onDrop?.(clusterId, drop), onRequest);
  });
  const bound = await listen(server, deps.host ?? '127.0.0.1');
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const address = `${host}:${bound.port}`;
  // Distinct cursor-id ranges per endpoint make a cursor id sent to the wrong cluster unknown there.
  holder.ctx = { ...deps, clusterId, address, cursors: new CursorStore((index + 1) * 1e12) };
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return { address, close };
}

/**
 * One loopback listener per simulated cluster and connection type, each speaking the MongoDB wire
 * protocol for that cluster only, so a cluster's standard, private and private-endpoint strings
 * each name their own port (as each Atlas cluster has its own hosts per network path).
 * Connections are served from the simulator's live state.
 */
export async function startWireEndpoints(
  deps: WireEndpointDeps,
  targets: readonly WireTarget[],
): Promise<WireEndpoints> {
  const started: { clusterId: string; via: WireVia; address: string; close: () => Promise<void> }[] = [];
  let requests = 0;
  const onRequest = (): void => {
    requests += 1;
  };
  try {
    for (const [index, { clusterId, via }] of targets.entries()) {
      started.push({ clusterId, via, ...(await startOne(deps, clusterId, index, onRequest)) });
    }
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.close()));
    throw error;
  }
  return {
    addresses: new Map(started.filter((s) => s.via === 'standard').map((s) => [s.clusterId, s.address])),
    byVia: new Map(started.map((s) => [wireKey(s.clusterId, s.via), s.address])),
    requests: () => requests,
    close: async () => {
      await Promise.allSettled(started.map((s) => s.close()));
    },
  };
}
