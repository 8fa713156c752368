import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { AcceptanceLog } from '../database-access/rate-limited.js';
import type { RateLimitedSettings } from '../database-access/rate-limited.js';
import {
  enqueueGrants,
  refillPause,
  settleJobs,
  startLoadSandbox,
} from '../database-access/rate-limited-load.js';
import type { Sandbox } from '../database-access/sandbox.js';
import { LoginProcess } from './login-process.js';
import { timedLogin, type LoginCredential, type LoginOutcome } from './timed-login.js';

export interface FirstUseSettings extends RateLimitedSettings {
  /** Grants of the load whose credential is used at once (spread evenly over the load). */
  readonly sampled: number;
  /** Sequential logins on the idle endpoint afterwards, with and without credentials. */
  readonly roundTripSamples: number;
}

export interface RoundTripSample {
  readonly ms: number;
  /** Wire requests the endpoint answered for it: the client's round trips. */
  readonly requests: number;
}

export interface FirstUseResult {
  readonly grants: number;
  readonly succeeded: number;
  /** Grant result accepted → first login answered, for every sampled grant that succeeded. */
  readonly logins: readonly LoginOutcome[];
  /** A bare connect + ping started at the same moment as each login, under the same load. */
  readonly bareUnderLoad: readonly LoginOutcome[];
  readonly bare: readonly RoundTripSample[];
  readonly authenticated: readonly RoundTripSample[];
  /** Event-loop delay of this process (simulator, control plane, logins) during the load, ms. */
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
}

function credentialOf(result: unknown): LoginCredential | undefined {
  const r = result as Partial<LoginCredential> | undefined;
  return r?.connectionString && r.username && r.password
    ? { connectionString: r.connectionString, username: r.username, password: r.password }
    : undefined;
}

async function roundTrip(sb: Sandbox, credential: LoginCredential, auth: boolean): Promise<RoundTripSample> {
  const before = sb.sim.wireRequests();
  const login = await timedLogin(credential.connectionString, auth ? credential : undefined);
  if (!login.ok) throw new Error(`login on the idle endpoint failed: ${login.error ?? ''}`);
  return { ms: login.ms, requests: sb.sim.wireRequests() - before };
}

/**
 * The rate-limited 500-grant load of the database-access scenario, with every n-th grant's
 * credential used the moment the control plane accepts its result: one driver login, no retry.
 */
export async function runFirstUse(settings: FirstUseSettings): Promise<FirstUseResult> {
  const load = await startLoadSandbox(settings, 'bench-credential-login');
  const { sb, projects } = load;
  const logger = new LoginProcess();
  const sampled = new Set<string>();
  const logins: Promise<LoginOutcome>[] = [];
  const bareLogins: Promise<LoginOutcome>[] = [];
  const log = new AcceptanceLog(Number(new URL(sb.cp.url).port), (jobId, acceptedAt) => {
    if (!sampled.has(jobId)) return;
    const credential = credentialOf(sb.cp.store.job(jobId)?.result);
    if (!credential) return;
    bareLogins.push(logger.login(credential, true));
    logins.push(
      logger.login(credential).then((o) => ({
        ...o,
        ms: performance.now() - acceptedAt,
      })),
    );
  });
  try {
    const warm = enqueueGrants(load, 'warm', projects.length);
    await settleJobs(sb, warm, 30_000);
    await refillPause(settings.bucket);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const ids = enqueueGrants(load, 'load', settings.grants);
    const every = settings.grants / settings.sampled;
    for (let i = 0; i < settings.sampled; i += 1) sampled.add(ids[Math.floor(i * every)] ?? '');
    await settleJobs(sb, ids, settings.deadlineMs);
    const outcomes = await Promise.all(logins);
    const bareUnderLoad = await Promise.all(bareLogins);
    loop.disable();
    const succeeded = ids.filter((id) => sb.cp.store.job(id)?.state === 'succeeded').length;
    const first = credentialOf(sb.cp.store.job(warm[0] ?? '')?.result);
    if (!first) throw new Error('the first warm-up grant returned no credential');
    // Interleaved, so warm-up and noise fall on both alike.
    const bare: RoundTripSample[] = [];
    const authenticated: RoundTripSample[] = [];
    for (let i = 0; i < settings.roundTripSamples; i += 1) {
      bare.push(await roundTrip(sb, first, false));
      authenticated.push(await roundTrip(sb, first, true));
    }
    const loopDelay = {
      loopDelayP50Ms: loop.percentile(50) / 1e6,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
    };
    return {
      grants: ids.length,
      succeeded,
      logins: outcomes,
      bareUnderLoad,
      bare,
      authenticated,
      ...loopDelay,
    };
  } finally {
    log.close();
    await logger.close();
    await sb.close();
  }
}
