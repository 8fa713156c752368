import { figuresFor, type Figure } from '../figures.js';
import type { Scenario } from '../scenario.js';
import { percentile } from '../stats.js';
import { runFirstUse, type FirstUseResult, type FirstUseSettings } from './first-use.js';

const name = 'credential-login';
const figure = figuresFor(name);

/** The database-access scenario's rate-limited load (500 grants, 10 projects), 200 of them used at once. */
const settings: FirstUseSettings = {
  grants: 500,
  sampled: 200,
  concurrency: 16,
  waiting: 64,
  bucket: { capacity: 10, refillAmount: 10, refillIntervalSeconds: 1 },
  simulatedLatencyMs: 10,
  propagationDelayMs: 300,
  deadlineMs: 60_000,
  roundTripSamples: 20,
};

const median = (xs: readonly number[]): number => percentile(xs, 50);

function figures(r: FirstUseResult): Figure[] {
  const ok = r.logins.filter((l) => l.ok);
  const firstError = r.logins.find((l) => !l.ok)?.error ?? '';
  const loginMs = ok.map((l) => l.ms);
  const bareMs = r.bare.map((s) => s.ms);
  const bareTrips = median(r.bare.map((s) => s.requests));
  const authTrips = median(r.authenticated.map((s) => s.requests));
  return [
    figure({
      name: 'first-use login success (sampled grants under load)',
      unit: '%',
      value: (100 * ok.length) / settings.sampled,
      bound: 100,
      boundLabel: 'every sampled grant',
      target: { op: '>=', value: 100, on: 'value' },
      details: {
        sampled: settings.sampled,
        loginsTried: r.logins.length,
        grantsSucceeded: r.succeeded,
        grants: r.grants,
        firstError,
      },
    }),
    figure({
      name: 'grant result → first login, p50 (under load)',
      unit: 'ms',
      value: median(loginMs),
      bound: median(r.bareUnderLoad.filter((l) => l.ok).map((l) => l.ms)),
      boundLabel: 'bare driver connect p50, same moments',
      details: {
        min: Math.min(...loginMs),
        p95: percentile(loginMs, 95),
        max: Math.max(...loginMs),
        loopDelayP50Ms: r.loopDelayP50Ms,
        loopDelayP99Ms: r.loopDelayP99Ms,
      },
    }),
    figure({
      name: 'driver login on the idle endpoint, p50',
      unit: 'ms',
      value: median(r.authenticated.map((s) => s.ms)),
      bound: median(bareMs),
      boundLabel: 'bare driver connect p50',
    }),
    figure({
      name: 'driver login round trips (connect + ping)',
      unit: 'requests',
      value: authTrips,
      bound: bareTrips,
      boundLabel: 'bare driver connect + ping',
      // speculativeAuthenticate folds saslStart into the handshake: one saslContinue is the cost.
      target: { op: '<=', value: bareTrips + 1, on: 'value' },
    }),
  ];
}

export const credentialLoginScenario: Scenario = {
  name,
  description: `issued credentials used at once with the official driver: first-use success of ${settings.sampled} of ${settings.grants} rate-limited grants, time from grant result to login, login round trips vs a bare connect (issue #10)`,
  async run({ progress }) {
    progress(
      `${name}: ${settings.grants} per-grant grants over 10 projects; ${settings.sampled} of them log in the moment their result is accepted`,
    );
    return figures(await runFirstUse(settings));
  },
};
