import type { Agent } from 'node:http';
import type {
  AtlasClient,
  AtlasCredentials,
  CredentialSource,
  Organization,
  Project,
  SystemStatus,
} from '../../atlas/index.js';
import type { AppConfig } from '../../config/env.js';
import type { IntegrationRef } from '../../control-plane/protocol.js';
import { ConnectorError } from '../../errors/connector-error.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { createHttpClient, type Fetch } from '../../runtime/http.js';
import { cryptoRandom, type Random } from '../../runtime/random.js';
import type { SecretScrubber } from '../../runtime/secret-scrubber.js';
import type { SecretResolver } from '../../secrets/secret-resolver.js';
import type { DoctorIo, DoctorTarget } from './doctor-types.js';

export const defaultCheckTimeoutMs = 30_000;

/**
 * What the checks share. Each check fills in what later ones use (the config, the resolver, the
 * Atlas client, the projects found); `runChecks` only runs a check once the checks it needs passed.
 */
export interface DoctorContext {
  readonly target: DoctorTarget;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The real CLI replaces it once the config is read, to apply the proxy and CA bundle. */
  fetch: Fetch;
  /** True in the real CLI: apply HTTPS_PROXY / CA_BUNDLE_FILE like the daemon does. */
  readonly configureHttp: boolean;
  readonly clock: Clock;
  readonly random: Random;
  readonly scrubber: SecretScrubber;
  readonly checkTimeoutMs: number;
  config?: AppConfig;
  /** The cloud SDKs' proxy and CA bundle, as the daemon builds it (real CLI only). */
  agent?: Agent;
  /** Doctor without target flags: the integrations are then listed with the enrollment token. */
  listsIntegrations?: boolean;
  /** What the control plane says this connector serves (doctor without target flags). */
  integrations?: readonly IntegrationRef[];
  resolver?: SecretResolver;
  credentialSource?: CredentialSource;
  credentials?: AtlasCredentials;
  atlas?: AtlasClient;
  status?: SystemStatus;
  /** The configured organization, once seen (org kinds). */
  organization?: Organization;
  /** Configured (or, for atlas-multi-project without ids, visible) projects the credential can read. */
  readonly projects: Map<string, Project>;
}

export function createDoctorContext(
  target: DoctorTarget,
  io: DoctorIo,
  scrubber: SecretScrubber,
  checkTimeoutMs = defaultCheckTimeoutMs,
): DoctorContext {
  return {
    target,
    env: io.env,
    fetch: io.fetch ?? createHttpClient(),
    configureHttp: io.fetch === undefined,
    clock: io.clock ?? systemClock,
    random: io.random ?? cryptoRandom,
    scrubber,
    checkTimeoutMs,
    projects: new Map(),
  };
}

/** Releases the Atlas client (revokes an OAuth token) and the secret backends. Never throws. */
export async function closeDoctorContext(ctx: DoctorContext): Promise<void> {
  await ctx.atlas?.close(AbortSignal.timeout(5_000)).catch(() => undefined);
  ctx.resolver?.close();
}

/** A value an earlier check provides; missing only if the dependency table is wrong. */
export function provided<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new ConnectorError({ code: 'internal', message: `doctor: ${what} is not available to this check` });
  }
  return value;
}

/** A URL for display: no user info, no trailing slash. */
export function displayUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return '(not a URL)';
  }
}
