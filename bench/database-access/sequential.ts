import { defaultFixture, sandboxIds } from '../../src/sandbox/atlas/index.js';
import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import { until } from '../stats.js';
import { countCalls, SimulatorRequestLog, type CallCounts } from './atlas-calls.js';
import { AtlasCallTimer, BareRoundTrips } from './bound-samplers.js';
import { grantJob, requester, revokeJob, type GrantSpec } from './jobs.js';
import { enrollmentToken, intervals, startPlane, startSandbox, stopPlane, type Sandbox } from './sandbox.js';

/**
 * Items 1 and 2 of the scenario: grants and revokes one at a time through the daemon, with rate
 * limits off and a fixed simulated latency, so a job's claim→result time is its Atlas calls, the
 * propagation delay and the control-plane round trip, nothing else.
 */
export const grantKinds = ['per-requester, new user', 'per-requester, existing user', 'per-grant'] as const;
export const revokeKinds = [
  'per-requester, other grant left',
  'per-requester, last grant',
  'per-grant',
] as const;
export type GrantKind = (typeof grantKinds)[number];
export type RevokeKind = (typeof revokeKinds)[number];

export interface SequentialSettings {
  readonly simulatedLatencyMs: number;
  readonly propagationDelayMs: number;
  /** Timed grants per kind. */
  readonly grants: number;
  /** Timed revokes per kind (at most `grants`). */
  readonly revokes: number;
  /** Untimed jobs of each kind first: JIT, connections and the learned propagation estimate. */
  readonly warmup: number;
  /** Bound samples taken after every timed job. */
  readonly atlasSamplesPerJob: number;
  readonly bareSamplesPerJob: number;
}

export interface JobSample {
  /** Claim answer leaving the control plane → result accepted by it. */
  readonly latencyMs: number;
  readonly calls: CallCounts;
  /** Calls other than readiness polls that ran one after another (see `SimulatorRequestLog`). */
  readonly sequentialCalls: number;
}

export interface SequentialResult {
  readonly settings: SequentialSettings;
  readonly grants: Record<GrantKind, JobSample[]>;
  readonly revokes: Record<RevokeKind, JobSample[]>;
  /** Bare pre-signed GETs against the same simulator, client-side. */
  readonly atlasCallMs: readonly number[];
  /** Bare client's ping claim→result on a twin control plane. */
  readonly bareRoundTripMs: readonly number[];
}

interface Pending {
  readonly jobId: string;
  readonly calls: CallCounts;
}

const payments = { projectId: sandboxIds.payments, cluster: 'Cluster0' };

function perRequester(name: string, grant: number): GrantSpec {
  return {
    integrationId: 'project',
    strategy: 'per-requester',
    grantId: `g-${name}-${grant}`,
    requester: requester(name),
    ...payments,
    multiProject: false,
  };
}

function perGrant(name: string): GrantSpec {
  return {
    integrationId: 'project-per-grant',
    strategy: 'per-grant',
    grantId: `g-${name}`,
    requester: requester(name),
    ...payments,
    multiProject: false,
  };
}

class Runner {
  private readonly log: SimulatorRequestLog;

  constructor(
    private readonly sb: Sandbox,
    private readonly atlas: AtlasCallTimer,
    private readonly bare: BareRoundTrips,
    private readonly settings: SequentialSettings,
  ) {
    this.log = new SimulatorRequestLog(Number(new URL(sb.sim.url).port));
  }

  close(): void {
    this.log.close();
  }

  /** Runs one job to its accepted result and counts the Atlas calls made meanwhile. */
  private async one(job: NewJobInput): Promise<Pending> {
    const before = this.sb.sim.stats.snapshot();
    const jobId = this.sb.cp.store.enqueueJob(job);
    try {
      await this.sb.probe.allAccepted([jobId], 40_000);
      await until(() => this.sb.cp.store.job(jobId)?.state !== 'leased', 5_000, `job ${jobId} to settle`);
    } catch (error) {
      throw new Error(`${String(error)}\ndaemon output:\n${this.sb.daemon.tail()}`);
    }
    const view = this.sb.cp.store.job(jobId);
    if (view?.state !== 'succeeded' || view.attempts !== 1) {
      throw new Error(`${job.type} job ${jobId} did not succeed at once: ${JSON.stringify(view)}`);
    }
    return { jobId, calls: countCalls(before, this.sb.sim.stats.snapshot()) };
  }

  /**
   * Warm-up rounds, then timed rounds; each round runs one job of every kind, so all kinds see the
   * same noise and the same learned propagation estimate (the connector learns it per project, and
   * every kind here uses one project). The bounds are sampled after every timed job.
   */
  async interleaved<K extends string>(kinds: Record<K, KindJobs>): Promise<Record<K, JobSample[]>> {
    const entries = Object.entries(kinds) as [K, KindJobs][];
    const rounds = (pick: (k: KindJobs) => readonly NewJobInput[]): number =>
      Math.max(...entries.map(([, k]) => pick(k).length));
    for (let i = 0; i < rounds((k) => k.warmup); i += 1) {
      for (const [, k] of entries) {
        const job = k.warmup[i];
        if (job) await this.one(job);
      }
    }
    const done = new Map<K, Pending[]>(entries.map(([kind]) => [kind, []]));
    for (let i = 0; i < rounds((k) => k.timed); i += 1) {
      for (const [kind, k] of entries) {
        const job = k.timed[i];
        if (!job) continue;
        done.get(kind)?.push(await this.one(job));
        await this.atlas.sample(this.settings.atlasSamplesPerJob);
        await this.bare.sample(this.settings.bareSamplesPerJob);
      }
    }
    const out = {} as Record<K, JobSample[]>;
    for (const [kind, pending] of done) out[kind] = this.samples(pending);
    return out;
  }

  private samples(done: readonly Pending[]): JobSample[] {
    const times = this.sb.probe.times(done.map((d) => d.jobId));
    return done.map((d, i) => {
      const t = times[i];
      if (!t) throw new Error(`no timings for job ${d.jobId}`);
      return {
        latencyMs: t.acceptedAt - t.leasedAt,
        calls: d.calls,
        sequentialCalls: this.log.sequentialCalls(t.leasedAt, t.acceptedAt),
      };
    });
  }
}

interface KindJobs {
  readonly warmup: readonly NewJobInput[];
  readonly timed: readonly NewJobInput[];
}

const names = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);

async function runKinds(
  run: Runner,
  s: SequentialSettings,
): Promise<Pick<SequentialResult, 'grants' | 'revokes'>> {
  const warm = names('warm', s.warmup);
  const people = names('person', s.grants);
  const warmPg = names('warm-pg', s.warmup);
  const peoplePg = names('person-pg', s.grants);
  const grants = (list: readonly string[], spec: (n: string) => GrantSpec): NewJobInput[] =>
    list.map((n) => grantJob(spec(n)));
  const revokes = (list: readonly string[], spec: (n: string) => GrantSpec): NewJobInput[] =>
    list.map((n) => revokeJob(spec(n)));
  const first = (n: string): GrantSpec => perRequester(n, 1);
  const second = (n: string): GrantSpec => perRequester(n, 2);
  // In each round the requester's first grant creates the user and the second finds it.
  const granted = await run.interleaved({
    'per-requester, new user': { warmup: grants(warm, first), timed: grants(people, first) },
    'per-requester, existing user': { warmup: grants(warm, second), timed: grants(people, second) },
    'per-grant': { warmup: grants(warmPg, perGrant), timed: grants(peoplePg, perGrant) },
  });
  // The second grant is revoked first (the first one is left), then the first (the last one).
  const [w, r, wPg, rPg] = [warm.slice(0, 1), people.slice(0, s.revokes), warmPg.slice(0, 1), peoplePg];
  const revoked = await run.interleaved({
    'per-requester, other grant left': { warmup: revokes(w, second), timed: revokes(r, second) },
    'per-requester, last grant': { warmup: revokes(w, first), timed: revokes(r, first) },
    'per-grant': { warmup: revokes(wPg, perGrant), timed: revokes(rPg.slice(0, s.revokes), perGrant) },
  });
  return { grants: granted, revokes: revoked };
}

export async function runSequential(settings: SequentialSettings): Promise<SequentialResult> {
  const twin = await startPlane();
  try {
    const bare = await BareRoundTrips.start(twin.cp, twin.probe, enrollmentToken, intervals.pollWaitMs);
    try {
      const sb = await startSandbox({
        fixture: defaultFixture(),
        knobs: {
          latency: { fixedMs: settings.simulatedLatencyMs, jitterMs: 0 },
          propagationDelayMs: settings.propagationDelayMs,
          rateLimit: { enabled: false },
        },
        integrations: [
          {
            id: 'project',
            kind: 'atlas-project',
            config: { projectId: payments.projectId, clusterName: 'Cluster0' },
          },
          {
            id: 'project-per-grant',
            kind: 'atlas-project',
            config: { projectId: payments.projectId, clusterName: 'Cluster0', userStrategy: 'per-grant' },
          },
        ],
        connectorId: 'bench-database-access',
        daemonEnv: {
          MAX_CONCURRENT_JOBS: '4',
          ATLAS_ORG_REQUESTS_PER_MINUTE: '100000',
          ATLAS_PROJECT_REQUESTS_PER_MINUTE: '100000',
        },
      });
      const atlas = AtlasCallTimer.forSimulator(sb.sim.url);
      const run = new Runner(sb, atlas, bare, settings);
      try {
        const kinds = await runKinds(run, settings);
        return { settings, ...kinds, atlasCallMs: atlas.samplesMs, bareRoundTripMs: bare.samplesMs };
      } finally {
        run.close();
        await sb.close();
      }
    } finally {
      await bare.close();
    }
  } finally {
    await stopPlane(twin);
  }
}
