import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { ConnectorError } from '../../errors/connector-error.js';
import { basePath, Intervals } from '../../control-plane/protocol.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import { cryptoRandom, type Random } from '../../runtime/random.js';
import { handleAdminRequest } from './admin-routes.js';
import { handleConnectorRequest } from './connector-router.js';
import { createStoreFacade, type ReferenceControlPlaneStore } from './control-plane-store.js';
import { createCore, type ControlPlaneCore } from './core.js';
import type { FaultSettings, FaultView } from './faults.js';
import { sendError } from './http-io.js';
import { defaultSessionGraceMs, type Settings } from './types.js';

export const defaultIntervals: Intervals = { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 };

export interface ReferenceControlPlaneOptions {
  /** Defaults to 127.0.0.1: the admin API has no authentication. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly enrollmentToken: string;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
  readonly intervals?: Partial<Intervals>;
  readonly maxAttempts?: number;
  readonly maxPayloadBytes?: number;
  readonly accessTokenTtlMs?: number;
  /** How often lease expiry and `notAfter` are swept on the clock. Default 1 s. */
  readonly sweepIntervalMs?: number;
}

export interface FaultControl {
  set(settings: FaultSettings): void;
  clear(): void;
  current(): FaultView;
}

export interface ReferenceControlPlane {
  /** e.g. `http://127.0.0.1:41234`; the protocol lives below `${url}/connector/v1`. */
  readonly url: string;
  readonly store: ReferenceControlPlaneStore;
  readonly faults: FaultControl;
  /** Ends held claims (204), stops the sweep and closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts the in-memory reference control plane speaking protocol v1 (docs/protocol.md). */
export async function startReferenceControlPlane(
  options: ReferenceControlPlaneOptions,
): Promise<ReferenceControlPlane> {
  if (options.enrollmentToken.length === 0) {
    throw new ConnectorError({
      code: 'config_invalid',
      message: 'reference control plane: enrollmentToken is empty',
    });
  }
  const logger = (options.logger ?? pino({ level: 'silent' })).child({
    component: 'reference-control-plane',
  });
  const core = createCore({
    clock: options.clock ?? systemClock,
    random: options.random ?? cryptoRandom,
    logger,
    enrollmentToken: options.enrollmentToken,
    settings: settingsFrom(options),
  });
  const store = createStoreFacade(core);
  const server = createServer((req, res) => {
    // A request it cannot take apart (a path such as `//`) answers 400; nothing ends the process.
    serve(core, store, req, res).catch((error: unknown) => {
      logger.warn({ err: error, method: req.method }, 'reference control plane: request failed');
      if (!res.headersSent) {
        sendError(res, { status: 400, code: 'invalid_request', message: 'request not understood' });
      } else res.destroy();
    });
  });
  await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  const stopSweep = startSweep(core, store, options.sweepIntervalMs ?? 1_000);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  logger.info({ port: address.port }, 'reference control plane listening');
  return {
    url: `http://${host}:${address.port}`,
    store,
    faults: core.faults,
    close: () => {
      closing ??= shutdown(core, server, stopSweep);
      return closing;
    },
  };
}

function settingsFrom(options: ReferenceControlPlaneOptions): Settings {
  const intervals = Intervals.safeParse({ ...defaultIntervals, ...options.intervals });
  if (!intervals.success) {
    const issue = intervals.error.issues[0];
    throw new ConnectorError({
      code: 'config_invalid',
      message: `reference control plane: intervals.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    });
  }
  // A silent session keeps its leases this long (§5.1).
  const configuredGraceMs = intervals.data.sessionGraceMs;
  const sessionGraceMs = configuredGraceMs ?? defaultSessionGraceMs(intervals.data.leaseTtlMs);
  return {
    intervals: { ...intervals.data, sessionGraceMs },
    sessionGraceFollowsTtl: configuredGraceMs === undefined,
    maxAttempts: options.maxAttempts ?? 5,
    maxPayloadBytes: options.maxPayloadBytes ?? 256 * 1024,
    accessTokenTtlMs: options.accessTokenTtlMs ?? 30 * 60_000,
  };
}

async function serve(
  core: ControlPlaneCore,
  store: ReferenceControlPlaneStore,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://reference-control-plane');
  const path = url.pathname;
  if (path.startsWith(`${basePath}/`)) {
    await handleConnectorRequest(core, req, res, path.slice(basePath.length));
  } else if (path.startsWith('/admin/')) {
    await handleAdminRequest(
      { store, faults: core.faults, logger: core.logger },
      req,
      res,
      url,
      path.slice(6),
    );
  } else {
    sendError(res, { status: 404, code: 'not_found', message: `nothing at ${path}` });
  }
}

/** Lease expiry and `notAfter` also apply on every request; the sweep wakes claims held meanwhile. */
function startSweep(core: ControlPlaneCore, store: ReferenceControlPlaneStore, everyMs: number): () => void {
  const stop = new AbortController();
  const loop = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      try {
        await core.clock.sleep(everyMs, stop.signal);
      } catch {
        return;
      }
      store.tick();
    }
  };
  void loop();
  return () => stop.abort();
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function shutdown(core: ControlPlaneCore, server: Server, stopSweep: () => void): Promise<void> {
  stopSweep();
  core.waiters.endWhere(() => true);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
