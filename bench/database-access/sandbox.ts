import type { IntegrationRef } from '../../src/control-plane/protocol.js';
import {
  startAtlasSimulator,
  type AtlasFixtureInput,
  type AtlasSimulator,
  type KnobsPatch,
} from '../../src/sandbox/atlas/index.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import { benchKey } from '../atlas/atlas-setup.js';
import { until } from '../stats.js';
import { ControlPlaneProbe } from '../worker/control-plane-probe.js';
import { spawnDaemon, type DaemonProcess } from '../worker/daemon-process.js';
import { intervals } from '../worker/worker-level.js';

/**
 * The reference control plane and the Atlas simulator in this process, the built daemon as a
 * child process, wired the way `test/e2e/sandbox-harness.ts` wires them: integrations on the
 * control plane, the Atlas key as `{"public_key","private_key"}` JSON behind `env://`.
 */
export const enrollmentToken = 'bench-enrollment-token-da7a55e1';
export const secretRef = 'env://BENCH_ATLAS_SECRET';
export { intervals };

export interface Plane {
  readonly cp: ReferenceControlPlane;
  readonly probe: ControlPlaneProbe;
}

export async function startPlane(): Promise<Plane> {
  const cp = await startReferenceControlPlane({ enrollmentToken, intervals });
  return { cp, probe: new ControlPlaneProbe(Number(new URL(cp.url).port)) };
}

export async function stopPlane(plane: Plane): Promise<void> {
  plane.probe.close();
  await plane.cp.close();
}

export interface Sandbox extends Plane {
  readonly sim: AtlasSimulator;
  readonly daemon: DaemonProcess;
  close(): Promise<void>;
}

export interface SandboxOptions {
  readonly fixture: AtlasFixtureInput;
  readonly knobs: KnobsPatch;
  readonly integrations: readonly Omit<IntegrationRef, 'secretRef'>[];
  readonly connectorId: string;
  /** `MAX_CONCURRENT_JOBS`, `ATLAS_*_REQUESTS_PER_MINUTE`, … on top of the defaults below. */
  readonly daemonEnv: Readonly<Record<string, string>>;
  /** Wire-protocol endpoints per cluster (default on); off for thousands of generated clusters. */
  readonly wireProtocol?: boolean;
}

async function withDaemon(plane: Plane, sim: AtlasSimulator, options: SandboxOptions): Promise<Sandbox> {
  const daemon = await spawnDaemon({
    CONTROL_PLANE_URL: plane.cp.url,
    CONTROL_PLANE_TOKEN: enrollmentToken,
    CONNECTOR_ID: options.connectorId,
    ATLAS_BASE_URL: sim.url,
    ATLAS_READY_TIMEOUT_SECONDS: '30',
    BENCH_ATLAS_SECRET: JSON.stringify({ public_key: benchKey.publicKey, private_key: benchKey.privateKey }),
    POLICY_MAX_GRANT_TTL: '1d',
    DRAIN_TIMEOUT_SECONDS: '5',
    ...options.daemonEnv,
  });
  try {
    await until(() => plane.cp.store.waitingClaims() > 0, 15_000, 'the daemon to hold a claim');
  } catch (error) {
    await daemon.stop();
    throw new Error(`${String(error)}\ndaemon output:\n${daemon.tail()}`);
  }
  const close = async (): Promise<void> => {
    await daemon.stop();
    await stopPlane(plane);
    await sim.close();
  };
  return { ...plane, sim, daemon, close };
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const sim = await startAtlasSimulator({
    ...benchKey,
    fixture: options.fixture,
    knobs: options.knobs,
    ...(options.wireProtocol === undefined ? {} : { wireProtocol: options.wireProtocol }),
  });
  let plane: Plane;
  try {
    plane = await startPlane();
  } catch (error) {
    await sim.close();
    throw error;
  }
  for (const integration of options.integrations)
    plane.cp.store.putIntegration({ ...integration, secretRef });
  try {
    return await withDaemon(plane, sim, options);
  } catch (error) {
    await stopPlane(plane);
    await sim.close();
    throw error;
  }
}
