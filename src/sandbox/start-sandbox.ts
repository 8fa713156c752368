import { readFile } from 'node:fs/promises';
import type { AppConfig } from '../config/env.js';
import { ConnectorError } from '../errors/connector-error.js';
import { cryptoRandom } from '../runtime/random.js';
import type { Logger } from '../runtime/logger.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import {
  parseFixtureText,
  startAtlasSimulator,
  type AtlasFixture,
  type AtlasSimulator,
} from './atlas/index.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from './control-plane/reference-control-plane.js';
import { playDemo, registerDemoIntegrations } from './demo.js';
import { playPortalDemo, registerPortalDemo } from './demo-portal.js';
import { tryLogin } from './demo-login.js';
import { playOrgDemo, registerOrgDemo } from './demo-org.js';

export interface Sandbox {
  readonly controlPlane: ReferenceControlPlane;
  readonly atlas: AtlasSimulator;
  /** The daemon's configuration, pointed at the sandbox. */
  readonly daemonConfig: AppConfig;
  /** Extra process environment for `env://` secret references (the sandbox Atlas key). */
  readonly env: Readonly<Record<string, string>>;
  /** `metricsPort`: where /status and /metrics answer (the admin port unless ADMIN_METRICS_PORT). */
  banner(adminPort: number, metricsPort?: number): string;
  /** Plays the discover / grant / revoke demo when SANDBOX_DEMO is on. */
  demo(print: (text: string) => void): Promise<void>;
  close(): Promise<void>;
}

const sandboxBucket = { capacity: 100, refillAmount: 10, refillIntervalSeconds: 1 };

/** The name of the in-process variable that holds the sandbox Atlas key for `env://` references. */
export const sandboxSecretVariable = 'SANDBOX_ATLAS_SECRET';

async function loadFixture(path: string | undefined): Promise<AtlasFixture | undefined> {
  if (!path) return undefined;
  try {
    return parseFixtureText(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConnectorError({
      code: 'config_invalid',
      message: `SANDBOX_ATLAS_FIXTURE: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    });
  }
}

/**
 * The embedded default: a reference control plane and an Atlas simulator on loopback, and the
 * daemon's configuration pointed at them. Nothing of this runs when CONTROL_PLANE_URL is set.
 */
export async function startSandbox(
  config: AppConfig,
  deps: { logger: Logger; scrubber: SecretScrubber },
): Promise<Sandbox> {
  const enrollmentToken = `sandbox-${cryptoRandom.hex(16)}`;
  deps.scrubber.add(enrollmentToken);
  const fixture = await loadFixture(config.sandbox.atlasFixture);
  const controlPlane = await startReferenceControlPlane({
    port: config.sandbox.controlPlanePort,
    enrollmentToken,
    // The root logger: the control plane binds its own `component`, and a second one from this
    // sandbox child would repeat the key in every line (strict JSON parsers reject that).
    logger: deps.logger,
    intervals: { heartbeatMs: 5_000, pollWaitMs: 25_000, leaseTtlMs: 30_000 },
  });
  let atlas: AtlasSimulator;
  try {
    atlas = await startAtlasSimulator({
      port: config.sandbox.atlasPort,
      publicKey: config.sandbox.atlasPublicKey,
      privateKey: config.sandbox.atlasPrivateKey,
      // Buckets of 100 refilled at 600 a minute, and the connector paced to match: the demo shows
      // pacing without making every step wait.
      knobs: { rateLimit: { project: sandboxBucket, organization: sandboxBucket } },
      ...(fixture ? { fixture } : {}),
    });
  } catch (error) {
    await controlPlane.close();
    throw error;
  }
  registerDemoIntegrations(controlPlane.store, `env://${sandboxSecretVariable}`);
  registerPortalDemo(controlPlane.store, `env://${sandboxSecretVariable}`);
  registerOrgDemo(controlPlane.store, `env://${sandboxSecretVariable}`);
  const daemonConfig: AppConfig = {
    ...config,
    mode: 'sandbox',
    controlPlane: { url: controlPlane.url, token: enrollmentToken, tokenFile: undefined },
    atlas: { ...config.atlas, baseUrl: atlas.url, orgRequestsPerMinute: 600, projectRequestsPerMinute: 600 },
  };
  const secret = JSON.stringify({
    public_key: config.sandbox.atlasPublicKey,
    private_key: config.sandbox.atlasPrivateKey,
  });
  return {
    controlPlane,
    atlas,
    daemonConfig,
    env: { [sandboxSecretVariable]: secret },
    banner: (adminPort, metricsPort = adminPort) =>
      sandboxBanner(controlPlane.url, atlas.url, { adminPort, metricsPort }, config),
    demo: async (print) => {
      if (!config.sandbox.demo) return;
      const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
      await playDemo(controlPlane.store, print, sleep);
      await playPortalDemo(controlPlane.store, atlas.state, print, sleep);
      await playOrgDemo(controlPlane.store, print, sleep, tryLogin);
    },
    async close() {
      await Promise.allSettled([controlPlane.close(), atlas.close()]);
    },
  };
}

function sandboxBanner(
  cpUrl: string,
  atlasUrl: string,
  { adminPort, metricsPort }: { readonly adminPort: number; readonly metricsPort: number },
  config: AppConfig,
): string {
  return [
    '',
    '  atlas-jit-connector — embedded sandbox (no CONTROL_PLANE_URL set)',
    '',
    `  reference control plane  ${cpUrl}   (admin API: ${cpUrl}/admin/jobs)`,
    `  Atlas simulator          ${atlasUrl}/api/atlas/v2   (key ${config.sandbox.atlasPublicKey} / SANDBOX_ATLAS_PRIVATE_KEY; inspect: ${atlasUrl}/__sim/state)`,
    metricsPort === adminPort
      ? `  connector admin          http://127.0.0.1:${adminPort}/status   /readyz /livez /metrics`
      : `  connector admin          http://127.0.0.1:${metricsPort}/status   /metrics; http://127.0.0.1:${adminPort}/readyz /livez`,
    '',
    '  Demo integrations: demo-project (atlas-project, payments/Cluster0, per-requester)',
    '                     demo-multi (atlas-multi-project, payments + analytics, per-grant)',
    '                     demo-portal (atlas-org-portal, Atlas UI roles in the sandbox organization)',
    '                     demo-org (atlas-org-deep-discovery, a sub-integration per cluster of the organization)',
    '',
    '  Try it:',
    `    curl -s -X POST ${cpUrl}/admin/jobs -H 'content-type: application/json' \\`,
    `      -d '{"type":"ping","payload":{"echo":"hello"}}'`,
    `    curl -s ${cpUrl}/admin/jobs/<jobId>`,
    '    (grant / revoke examples: README, "Trying the sandbox")',
    '',
    '  Ctrl-C drains and exits.',
    '',
  ].join('\n');
}
