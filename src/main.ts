import { hostname } from 'node:os';
import { createAdapterJobHandlers } from './adapters/adapter-job-handlers.js';
import { createAtlasClientPool, type AtlasClientPool } from './adapters/atlas-client-pool.js';
import { createCredentialState } from './adapters/credential-state.js';
import { InvitationPacer } from './adapters/atlas-org-portal/invitation-pacer.js';
import { buildAdapters, integrationKinds } from './adapters/registry.js';
import { createSnapshotUploader } from './adapters/snapshot-uploader.js';
import { createMetrics, type Metrics } from './admin/metrics.js';
import { createSecretResolver } from './secrets/secret-resolver.js';
import { startAdminListeners, type AdminListeners } from './admin/admin-listeners.js';
import type { AdminServer } from './admin/admin-server.js';
import type { AppConfig } from './config/env.js';
import { enrollmentTokenProblem, readEnrollmentToken } from './config/enrollment-token.js';
import { environmentSecrets } from './config/environment-secrets.js';
import { ControlPlaneClient } from './control-plane/control-plane-client.js';
import { protocolVersion } from './control-plane/protocol.js';
import { ConnectorError } from './errors/connector-error.js';
import { systemClock, type Clock } from './runtime/clock.js';
import { createHttpClient, type Fetch } from './runtime/http.js';
import { compactAfterStartup, type CollectGarbage } from './runtime/heap-compaction.js';
import { createOutboundAgent } from './runtime/outbound-agent.js';
import type { Logger } from './runtime/logger.js';
import { createMongoNamespaceReader } from './runtime/mongodb-namespace-reader.js';
import { cryptoRandom, type Random } from './runtime/random.js';
import type { SecretScrubber } from './runtime/secret-scrubber.js';
import { version, userAgent } from './version.js';
import { createJobRouter, pingHandler, type JobHandler } from './worker/job-handlers.js';
import { ShutdownBudget } from './worker/shutdown-budget.js';
import { Worker } from './worker/worker.js';

export interface DaemonPorts {
  /** The environment `env://` secret references and the cloud SDKs' defaults are read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly scrubber: SecretScrubber;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly fetch?: Fetch;
  /** Extra job types beyond ping and the Atlas operations. */
  readonly handlers?: Readonly<Record<string, JobHandler>>;
  /** A full GC (`globalThis.gc` under `--expose-gc`), run once when start-up is done. */
  readonly collectGarbage?: CollectGarbage;
}

export interface Daemon {
  readonly worker: Worker;
  readonly admin: AdminListeners;
  readonly metrics: Metrics;
  /** Staged shutdown (`force`: a second signal, release in-flight jobs now). Resolves as `stopped` does. */
  shutdown(force?: boolean): Promise<void>;
  /**
   * Resolves once the worker has drained and deregistered and the daemon's servers and clients
   * are closed: after `shutdown()`, or on its own when the control plane asked for a drain.
   */
  readonly stopped: Promise<void>;
}

/** Reads the enrollment token from the variable or the file (re-read each registration, so a rotated file is used). */
function enrollmentTokenSource(config: AppConfig, scrubber: SecretScrubber): () => Promise<string> {
  return async () => {
    const token = await readEnrollmentToken(config.controlPlane).catch((error: unknown) => {
      throw new ConnectorError({
        code: 'config_invalid',
        message: `CONTROL_PLANE_TOKEN_FILE: cannot read ${config.controlPlane.tokenFile}`,
        cause: error,
      });
    });
    scrubber.add(token);
    const problem = enrollmentTokenProblem(token);
    if (problem)
      throw new ConnectorError({
        code: 'config_invalid',
        message: `${config.controlPlane.tokenFile ? 'CONTROL_PLANE_TOKEN_FILE' : 'CONTROL_PLANE_TOKEN'}: ${problem}`,
      });
    return token;
  };
}

/** The composition root: real clock, randomness, HTTP, metrics and registries, passed down. */
export async function startDaemon(config: AppConfig, ports: DaemonPorts): Promise<Daemon> {
  // Before anything can fail or log: an SDK or a proxy error may echo the proxy's password or a
  // cloud credential the SDKs read from the environment.
  for (const value of environmentSecrets(ports.env)) ports.scrubber.add(value);
  if (!config.controlPlane.url)
    throw new ConnectorError({ code: 'config_invalid', message: 'CONTROL_PLANE_URL is not set' });
  const clock = ports.clock ?? systemClock;
  const random = ports.random ?? cryptoRandom;
  const logger = ports.logger;
  const enrollmentToken = enrollmentTokenSource(config, ports.scrubber);
  await enrollmentToken(); // fail fast on an unreadable token, before anything listens
  const outboundAgent = createOutboundAgent(config.http);
  const metrics = createMetrics(version, integrationKinds);
  const fetch = ports.fetch ?? createHttpClient(outboundAgent ? { agent: outboundAgent } : {});
  const client = new ControlPlaneClient({
    baseUrl: config.controlPlane.url.replace(/\/+$/, ''),
    enrollmentToken,
    fetch,
    clock,
    logger,
    userAgent,
    onSecret: (value) => ports.scrubber.add(value),
    onRequest: (endpoint, code, durationMs) => {
      metrics.controlPlaneRequests.inc({ call: endpoint, code });
      metrics.controlPlaneDuration.observe({ call: endpoint }, durationMs / 1000);
    },
  });
  const secrets = createSecretResolver({
    env: ports.env,
    clock,
    scrubber: ports.scrubber,
    logger,
    ttlMs: config.secretCacheTtlMs,
    onFetch: ({ backend, outcome, durationMs }) => {
      metrics.secretFetches.inc({ backend, outcome });
      metrics.secretFetchDuration.observe({ backend, outcome }, durationMs / 1000);
    },
    ...(outboundAgent ? { agent: outboundAgent } : {}),
  });
  const atlasClients = createAtlasClientPool(
    secrets,
    {
      baseUrl: config.atlas.baseUrl,
      fetch,
      clock,
      random,
      logger,
      userAgent,
      maxRetries: config.atlas.maxRetries,
      sizeRateLimitsFromApi: config.atlas.rateLimitsFromApi,
      limits: {
        orgRequestsPerMinute: config.atlas.orgRequestsPerMinute,
        projectRequestsPerMinute: config.atlas.projectRequestsPerMinute,
      },
      onRequest: (info) => {
        metrics.atlasRequests.inc({ operation: info.operation, code: String(info.status) });
        metrics.atlasDuration.observe({ operation: info.operation }, info.durationMs / 1000);
      },
      onPaced: (info) => metrics.atlasRateLimitWait.observe({ scope: info.scope }, info.waitedMs / 1000),
      onRetry: (info) => metrics.atlasRetries.inc({ operation: info.operation, code: info.code }),
      onSecret: (value) => ports.scrubber.add(value),
      onTokenRevokeFailed: () => metrics.atlasTokenRevokeFailures.inc(),
    },
    (atlas) => createCredentialState(atlas, { clock, readyTimeoutMs: config.atlas.readyTimeoutMs }),
  );
  const registerSecret = (value: string): void => ports.scrubber.add(value);
  const kinds = buildAdapters(
    {
      clock,
      random,
      logger,
      policy: config.policy,
      snapshots: createSnapshotUploader(client, config.connectorId, { retry: { clock, random } }),
      registerSecret,
    },
    {
      'atlas-org-deep-discovery': {
        connectorId: config.connectorId,
        reader: createMongoNamespaceReader({ appName: userAgent }),
      },
      'atlas-org-portal': {
        invitations: new InvitationPacer(clock, {
          limit: config.atlas.invitationsPerWindow,
          windowMs: config.atlas.invitationWindowMs,
        }),
      },
    },
  );
  const atlasHandlers = createAdapterJobHandlers({ kinds, clients: atlasClients, registerSecret });
  const shutdown = new ShutdownBudget(clock);
  const worker = new Worker({
    client,
    router: createJobRouter({ ping: pingHandler, ...atlasHandlers, ...ports.handlers }),
    policy: config.policy,
    clock,
    random,
    logger,
    scrubber: ports.scrubber,
    metrics,
    maxConcurrentJobs: config.maxConcurrentJobs,
    maxWaitingJobs: config.maxWaitingJobs,
    drainTimeoutMs: config.drainTimeoutMs,
    shutdown,
    maxPayloadBytes: config.maxPayloadBytes,
    registration: {
      connectorId: config.connectorId,
      instanceId: `${config.instance.podName ?? hostname()}:${process.pid}:${random.hex(4)}`,
      version,
      protocol: protocolVersion,
      hostname: hostname(),
      podName: config.instance.podName,
      podNamespace: config.instance.podNamespace,
      features: ['lease-extend', 'result-idempotency', 'discovery-snapshots', 'grant-ledger', 'job-intent'],
    },
  });
  const admin = await startAdminListeners(config.admin, {
    health: worker,
    registry: metrics.registry,
    logger,
    scrubber: ports.scrubber,
  });
  compactAfterStartup(ports.collectGarbage, { logger, monotonic: () => clock.monotonic() });
  logger.info(
    {
      adminPort: admin.port,
      metricsPort: admin.metricsPort,
      controlPlane: config.controlPlane.url,
      maxConcurrentJobs: config.maxConcurrentJobs,
      maxWaitingJobs: config.maxWaitingJobs,
    },
    'connector started',
  );
  worker.start();
  const stopped = worker.stopped.then(async () => {
    await closeAll(admin, atlasClients, secrets, shutdown);
    const abandoned = shutdown.steps();
    if (Object.keys(abandoned).length > 0)
      logger.warn(
        // The budget ran out, or a second signal gave up the waits at once.
        { abandoned, budgetMs: shutdown.totalMs },
        'shutdown: exiting with these steps unfinished',
      );
  });
  return {
    worker,
    admin,
    metrics,
    stopped,
    shutdown(force = false) {
      void (force ? worker.force() : worker.drain());
      return stopped;
    },
  };
}

/** Within what is left of the shutdown budget: the process exits when it runs out. */
async function closeAll(
  admin: AdminServer,
  atlasClients: AtlasClientPool,
  secrets: { close(): void },
  shutdown: ShutdownBudget,
): Promise<void> {
  // Each step is independent: one failing must not skip the others.
  const timeoutMs = Math.max(1, shutdown.leftMs());
  const closing = Promise.allSettled([admin.close(), atlasClients.closeAll(AbortSignal.timeout(timeoutMs))]);
  if (!(await shutdown.within(closing))) shutdown.abandon('close', true);
  secrets.close();
}
