import {
  startAtlasSimulator,
  sandboxIds,
  type AtlasFixtureInput,
  type AtlasSimulator,
  type AtlasSimulatorOptions,
} from '../../src/sandbox/atlas/index.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import type { JobView } from '../../src/sandbox/control-plane/types.js';
import {
  usernameFor,
  type Requester,
  type UserStrategy,
} from '../../src/adapters/database-access/model/user-model.js';
import { ShiftedClock } from '../fakes/shifted-clock.js';
import { eventually, spawnDaemon, type DaemonProcess } from './daemon-process.js';

export const enrollmentToken = 'e2e-enrollment-token-9d1c77aa';
export const atlasKey = { publicKey: 'eetwoeek', privateKey: 'e2e-private-key-5b0e-4000-8000-0000000000aa' };
export const { payments, analytics } = sandboxIds;

/** The one cluster of each `atlas-project` integration `startSandbox` registers (`multi` has none). */
export const integrationClusters = {
  project: 'Cluster0',
  'project-per-grant': 'Cluster0',
  'private-endpoint': 'Private0',
} as const;

/**
 * The database user a job of `requester` through one of `startSandbox`'s integrations names, as the
 * connector computes it: per requester and cluster on an atlas-project integration (per-requester),
 * per requester and project on `multi`, per grant with `per-grant`.
 */
export function usernameOn(
  integrationId: string,
  strategy: UserStrategy,
  requester: Requester,
  grantId?: string,
): string {
  const clusters: Readonly<Record<string, string>> = integrationClusters;
  return usernameFor(strategy, requester, grantId, clusters[integrationId]);
}

export interface Sandbox {
  readonly cp: ReferenceControlPlane;
  readonly sim: AtlasSimulator;
  readonly simClock: ShiftedClock;
  readonly daemons: DaemonProcess[];
  connector(env?: Record<string, string>): Promise<DaemonProcess>;
  run(job: NewJobInput, timeoutMs?: number): Promise<JobView>;
  close(): Promise<void>;
}

/** The org-portal integration `portal` on the sandbox organization, with `config` besides its `orgId`. */
export function putPortalIntegration(sb: Pick<Sandbox, 'cp'>, config: Record<string, unknown>): void {
  sb.cp.store.putIntegration({
    id: 'portal',
    kind: 'atlas-org-portal',
    config: { orgId: sandboxIds.org, ...config },
    secretRef: 'env://E2E_ATLAS_SECRET',
  });
}

/** Reference control plane + Atlas simulator in the test process; daemons as child processes. */
export async function startSandbox(
  options: {
    leaseTtlMs?: number;
    propagationDelayMs?: number;
    fixture?: AtlasFixtureInput;
    /** The control plane's payload limit (a small one fits few people in a sweep). */
    maxPayloadBytes?: number;
    /** Service accounts the simulator knows besides the API key (OAuth client credentials). */
    serviceAccounts?: AtlasSimulatorOptions['serviceAccounts'];
    /** The simulator's randomness (its OAuth tokens among others); a test may watch what it draws. */
    random?: AtlasSimulatorOptions['random'];
  } = {},
): Promise<Sandbox> {
  const simClock = new ShiftedClock();
  const sim = await startAtlasSimulator({
    ...atlasKey,
    ...(options.fixture === undefined ? {} : { fixture: options.fixture }),
    ...(options.serviceAccounts === undefined ? {} : { serviceAccounts: options.serviceAccounts }),
    ...(options.random === undefined ? {} : { random: options.random }),
    clock: simClock,
    knobs: { propagationDelayMs: options.propagationDelayMs ?? 150 },
  });
  sim.knobs.rateLimit.enabled = false;
  const cp = await startReferenceControlPlane({
    enrollmentToken,
    intervals: { heartbeatMs: 1_000, pollWaitMs: 2_000, leaseTtlMs: options.leaseTtlMs ?? 10_000 },
    sweepIntervalMs: 100,
    ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }),
  });
  const secretRef = 'env://E2E_ATLAS_SECRET';
  cp.store.putIntegration({
    id: 'project',
    kind: 'atlas-project',
    config: { projectId: payments, clusterName: integrationClusters.project },
    secretRef,
  });
  cp.store.putIntegration({
    id: 'project-per-grant',
    kind: 'atlas-project',
    config: {
      projectId: payments,
      clusterName: integrationClusters['project-per-grant'],
      userStrategy: 'per-grant',
    },
    secretRef,
  });
  cp.store.putIntegration({
    id: 'private-endpoint',
    kind: 'atlas-project',
    config: {
      projectId: payments,
      clusterName: integrationClusters['private-endpoint'],
      connectionType: 'privateEndpoint',
      privateEndpointId: 'vpce-0a1b2c3d4e5f67890',
    },
    secretRef,
  });
  cp.store.putIntegration({
    id: 'multi',
    kind: 'atlas-multi-project',
    config: { projectIds: [payments, analytics] },
    secretRef,
  });
  const daemons: DaemonProcess[] = [];
  return {
    cp,
    sim,
    simClock,
    daemons,
    async connector(env = {}) {
      const daemon = await spawnDaemon({
        CONTROL_PLANE_URL: cp.url,
        CONTROL_PLANE_TOKEN: enrollmentToken,
        CONNECTOR_ID: `e2e-${daemons.length}`,
        ATLAS_BASE_URL: sim.url,
        ATLAS_ORG_REQUESTS_PER_MINUTE: '100000',
        ATLAS_PROJECT_REQUESTS_PER_MINUTE: '100000',
        ATLAS_READY_TIMEOUT_SECONDS: '20',
        E2E_ATLAS_SECRET: JSON.stringify({
          public_key: atlasKey.publicKey,
          private_key: atlasKey.privateKey,
        }),
        MAX_CONCURRENT_JOBS: '16',
        POLICY_MAX_GRANT_TTL: '30d',
        ...env,
      });
      daemons.push(daemon);
      return daemon;
    },
    async run(job, timeoutMs = 30_000) {
      const jobId = cp.store.enqueueJob(job);
      return eventually(
        () => {
          const view = cp.store.job(jobId);
          return view && ['succeeded', 'failed', 'dead'].includes(view.state) ? view : undefined;
        },
        timeoutMs,
        `${job.type} job ${jobId}`,
      );
    },
    async close() {
      for (const daemon of daemons) daemon.kill('SIGKILL');
      await Promise.all(daemons.map((d) => d.exited));
      await Promise.all([cp.close(), sim.close()]);
    },
  };
}
