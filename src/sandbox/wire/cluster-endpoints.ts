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

/** The running endpoints: cluster id → `host:port` a driver dials. */
export interface WireEndpoints {
  readonly addresses: ReadonlyMap<string, string>;
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
    if (!ctx) return void socket.destroy();
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
 * One loopback listener per simulated cluster, each speaking the MongoDB wire protocol for that
 * cluster only, so a cluster's standard connection string names its own port (as each Atlas
 * cluster has its own hosts). Connections are served from the simulator's live state.
 */
export async function startWireEndpoints(
  deps: WireEndpointDeps,
  clusterIds: readonly string[],
): Promise<WireEndpoints> {
  const started: { clusterId: string; address: string; close: () => Promise<void> }[] = [];
  let requests = 0;
  const onRequest = (): void => {
    requests += 1;
  };
  try {
    for (const [index, clusterId] of clusterIds.entries()) {
      started.push({ clusterId, ...(await startOne(deps, clusterId, index, onRequest)) });
    }
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.close()));
    throw error;
  }
  return {
    addresses: new Map(started.map((s) => [s.clusterId, s.address])),
    requests: () => requests,
    close: async () => {
      await Promise.allSettled(started.map((s) => s.close()));
    },
  };
}
