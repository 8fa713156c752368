import type { NewJobInput } from '../../src/sandbox/control-plane/control-plane-store.js';
import { defaultFixture, sandboxIds, type AtlasFixtureInput } from '../../src/sandbox/atlas/index.js';
import {
  countCalls,
  meanCounts,
  SimulatorRequestLog,
  type CallCounts,
} from '../database-access/atlas-calls.js';
import { AtlasCallTimer, BareRoundTrips } from '../database-access/bound-samplers.js';
import { BareAtlasCalls, bareRequest, type BareCallSpec } from './bare-atlas-calls.js';
import {
  enrollmentToken,
  intervals,
  startPlane,
  startSandbox,
  stopPlane,
  type Sandbox,
} from '../database-access/sandbox.js';
import { projectUrlPath } from '../atlas/atlas-setup.js';
import { figuresFor, type Figure } from '../figures.js';
import type { Scenario } from '../scenario.js';
import { mean, percentile, until } from '../stats.js';

const name = 'org-portal';
const figure = figuresFor(name);

const settings = {
  simulatedLatencyMs: 10,
  grants: 40,
  warmup: 5,
  atlasSamplesPerJob: 2,
  bareSamplesPerJob: 1,
};

/** A member (ORG_MEMBER only) that no job touches: the bare Atlas calls are made on them. */
const probe = { id: '66bb00000000000000000000', email: 'bound-probe@example.com' };

/**
 * The adapter's calls, bare: the same operation, query and body, on the probe member and changing
 * nothing (adding a role they hold, removing one they do not hold), so they can be repeated.
 */
const bareCalls = {
  read: {
    operation: 'listOrgUsers',
    params: { orgId: sandboxIds.org },
    query: new URLSearchParams([
      ['username', probe.email],
      ['orgMembershipStatuses', 'ACTIVE'],
      ['orgMembershipStatuses', 'PENDING'],
      ['pageNum', '1'],
      ['itemsPerPage', '100'],
    ]).toString(),
  },
  grant: {
    operation: 'addOrgUserRole',
    params: { orgId: sandboxIds.org, userId: probe.id },
    body: { orgRole: 'ORG_MEMBER' },
  },
  revoke: {
    operation: 'removeOrgUserRole',
    params: { orgId: sandboxIds.org, userId: probe.id },
    body: { orgRole: 'ORG_READ_ONLY' },
  },
} satisfies Record<string, BareCallSpec>;

/** The default seed plus active members with ORG_MEMBER only, one per grant. */
function fixture(people: number): AtlasFixtureInput {
  const base = defaultFixture();
  const members = Array.from({ length: people }, (_, i) => ({
    id: `66aa${i.toString(16).padStart(20, '0')}`,
    orgId: sandboxIds.org,
    username: `member${i}@example.com`,
    status: 'ACTIVE' as const,
    orgRoles: ['ORG_MEMBER' as const],
  }));
  const bound = { id: probe.id, orgId: sandboxIds.org, username: probe.email, status: 'ACTIVE' as const };
  return {
    ...base,
    orgUsers: [...(base.orgUsers ?? []), ...members, { ...bound, orgRoles: ['ORG_MEMBER' as const] }],
  };
}

interface Sample {
  readonly latencyMs: number;
  /** Lease → first Atlas request, between Atlas calls (summed), last Atlas answer → result accepted. */
  readonly gapsMs: { beforeAtlas: number; betweenAtlas: number; afterAtlas: number };
  readonly calls: CallCounts;
  readonly sequentialCalls: number;
}

const job = (type: 'grant' | 'revoke', i: number): NewJobInput => ({
  type,
  integrationId: 'portal',
  resourceKey: `org-portal/member${i}@example.com`,
  payload:
    type === 'grant'
      ? {
          grantId: `g-${i}`,
          requester: { email: `member${i}@example.com` },
          access: [{ level: 'org', role: 'ORG_READ_ONLY' }],
          ttlSeconds: 3600,
        }
      : { grantId: `g-${i}` },
});

async function one(sb: Sandbox, input: NewJobInput): Promise<{ jobId: string; calls: CallCounts }> {
  const before = sb.sim.stats.snapshot();
  const jobId = sb.cp.store.enqueueJob(input);
  await sb.probe.allAccepted([jobId], 30_000);
  await until(() => sb.cp.store.job(jobId)?.state !== 'leased', 5_000, `job ${jobId} to settle`);
  const view = sb.cp.store.job(jobId);
  if (view?.state !== 'succeeded' || view.attempts !== 1) {
    throw new Error(
      `${input.type} job ${jobId} did not succeed at once: ${JSON.stringify(view)}\n${sb.daemon.tail()}`,
    );
  }
  return { jobId, calls: countCalls(before, sb.sim.stats.snapshot()) };
}

interface AtlasTimers {
  /** The adapter's read and each kind's write, bare, from the bare client's process. */
  readonly read: BareAtlasCalls;
  readonly grant: BareAtlasCalls;
  readonly revoke: BareAtlasCalls;
  /** The bound's former Atlas part: a `getGroup` GET from this process (kept for comparison). */
  readonly former: AtlasCallTimer;
}

/** Grants (then revokes) one at a time; the bound parts are sampled after every timed job. */
async function measure(sb: Sandbox, atlas: AtlasTimers, bare: BareRoundTrips) {
  const log = new SimulatorRequestLog(Number(new URL(sb.sim.url).port));
  const timed = async (type: 'grant' | 'revoke'): Promise<Sample[]> => {
    for (let i = 0; i < settings.warmup; i += 1) await one(sb, job(type, settings.grants + i));
    const done: { jobId: string; calls: CallCounts }[] = [];
    for (let i = 0; i < settings.grants; i += 1) {
      done.push(await one(sb, job(type, i)));
      await atlas.read.sample(settings.atlasSamplesPerJob);
      await atlas[type].sample(settings.atlasSamplesPerJob);
      await atlas.former.sample(settings.atlasSamplesPerJob);
      // A grant necessarily makes one more control-plane round trip: its intent, before its write.
      await bare.sample(settings.bareSamplesPerJob, { intent: type === 'grant' });
      if (type === 'grant') await bare.sample(settings.bareSamplesPerJob, { grant: true });
    }
    const times = sb.probe.times(done.map((d) => d.jobId));
    return done.map((d, i) => {
      const t = times[i];
      if (!t) throw new Error(`no timings for job ${d.jobId}`);
      const spans = log.spans(t.leasedAt, t.acceptedAt);
      const between = spans.slice(1).reduce((sum, s, k) => sum + (s.start - (spans[k]?.end ?? s.start)), 0);
      return {
        latencyMs: t.acceptedAt - t.leasedAt,
        gapsMs: {
          beforeAtlas: (spans[0]?.start ?? t.acceptedAt) - t.leasedAt,
          betweenAtlas: between,
          afterAtlas: t.acceptedAt - (spans.at(-1)?.end ?? t.leasedAt),
        },
        calls: d.calls,
        sequentialCalls: log.sequentialCalls(t.leasedAt, t.acceptedAt),
      };
    });
  };
  try {
    return { grants: await timed('grant'), revokes: await timed('revoke') };
  } finally {
    log.close();
  }
}

interface BoundParts {
  /** Bare p50 of the adapter's read and of this kind's write (`BareAtlasCalls`). */
  readonly readMs: number;
  readonly writeMs: number;
  readonly bareMs: number;
  /** The minimal grant's claim→result p50 (`bench/worker/bare-grant.ts`), grants only. */
  readonly minimalGrantMs?: number;
  /** The former Atlas part: a `getGroup` GET timed from the bench process. */
  readonly formerCallMs: number;
  /** The host's cold-path penalty, read in the bare client's process (`ColdPath`). */
  readonly coldPath: ColdPath;
}

/**
 * A job envelope's validation (µs, p50) back to back and after a pause as long as the simulated
 * Atlas latency. Every step of a job runs after such a pause, so its code runs as cold as the host
 * leaves it; the factor between the two says what a microsecond of warm work costs the job on this
 * host (docs/benchmarks.md, "Session 15").
 */
interface ColdPath {
  readonly backToBackUs: number;
  readonly afterPauseUs: number;
}

async function measureColdPath(bare: BareRoundTrips): Promise<ColdPath> {
  const reply = await bare.process.send({
    cmd: 'coldPath',
    pauseMs: settings.simulatedLatencyMs,
    samples: settings.grants,
  });
  if (!reply.afterPauseMs) throw new Error('the bare client answered coldPath without afterPauseMs');
  return {
    backToBackUs: percentile(reply.rttMs, 50) * 1000,
    afterPauseUs: percentile(reply.afterPauseMs, 50) * 1000,
  };
}

function figures(kind: 'grant' | 'revoke', samples: readonly Sample[], parts: BoundParts): Figure[] {
  const { readMs, writeMs, bareMs, minimalGrantMs, formerCallMs, coldPath } = parts;
  const latency = samples.map((s) => s.latencyMs);
  // Each call is charged the bare time of its own kind; the calls of one job run one after another.
  const bound = percentile(
    samples.map((s) => s.calls.reads * readMs + s.calls.writes * writeMs + bareMs),
    50,
  );
  const formerBound = percentile(
    samples.map((s) => s.sequentialCalls * formerCallMs + bareMs),
    50,
  );
  const c = meanCounts(samples.map((s) => s.calls));
  return [
    figure({
      name: `${kind} claim→result p50, active member, one org role`,
      unit: 'ms',
      value: percentile(latency, 50),
      bound,
      boundLabel: `bare read + bare write (same calls, own process) + bare CP${kind === 'grant' ? ' (claim→intent→result)' : ''}`,
      ...(kind === 'grant' ? { target: { op: '<=', value: 1.05, on: 'ratio' } as const } : {}),
      details: {
        jobs: samples.length,
        p95Ms: percentile(latency, 95),
        sequentialCallsMean: mean(samples.map((s) => s.sequentialCalls)),
        bareReadP50Ms: readMs,
        bareWriteP50Ms: writeMs,
        bareControlPlaneRoundTripP50Ms: bareMs,
        ...(minimalGrantMs === undefined
          ? {}
          : { minimalGrantP50Ms: minimalGrantMs, minimalGrantRatio: minimalGrantMs / bound }),
        formerBoundMs: formerBound,
        formerGetGroupInBenchProcessP50Ms: formerCallMs,
        leaseToFirstAtlasP50Ms: percentile(
          samples.map((s) => s.gapsMs.beforeAtlas),
          50,
        ),
        betweenAtlasCallsP50Ms: percentile(
          samples.map((s) => s.gapsMs.betweenAtlas),
          50,
        ),
        lastAtlasToResultP50Ms: percentile(
          samples.map((s) => s.gapsMs.afterAtlas),
          50,
        ),
        envelopeCheckBackToBackUs: coldPath.backToBackUs,
        envelopeCheckAfterPauseUs: coldPath.afterPauseUs,
        coldPathFactor: coldPath.afterPauseUs / coldPath.backToBackUs,
      },
    }),
    figure({
      name: `${kind} Atlas calls, one role`,
      unit: 'calls',
      value: c.reads + c.writes,
      bound: 2,
      boundLabel: 'issue: one read + one write per role',
      target: { op: '<=', value: 2, on: 'value' },
      details: { reads: c.reads, writes: c.writes, calls: c.breakdown, digestChallenges: c.challenges },
    }),
  ];
}

export const orgPortalScenario: Scenario = {
  name,
  description:
    'atlas-org-portal grants and revokes to active members through the daemon: latency vs its bound, Atlas calls per job (issue #11)',
  async run({ progress }) {
    progress(
      `${name}: ${settings.grants} grants then revokes, one at a time (${settings.simulatedLatencyMs} ms simulated latency)`,
    );
    const twin = await startPlane();
    try {
      const bare = await BareRoundTrips.start(twin.cp, twin.probe, enrollmentToken, intervals.pollWaitMs);
      try {
        const sb = await startSandbox({
          fixture: fixture(settings.grants + settings.warmup),
          knobs: {
            latency: { fixedMs: settings.simulatedLatencyMs, jitterMs: 0 },
            rateLimit: { enabled: false },
          },
          integrations: [{ id: 'portal', kind: 'atlas-org-portal', config: { orgId: sandboxIds.org } }],
          connectorId: 'bench-org-portal',
          daemonEnv: {
            MAX_CONCURRENT_JOBS: '4',
            ATLAS_ORG_REQUESTS_PER_MINUTE: '100000',
            ATLAS_PROJECT_REQUESTS_PER_MINUTE: '100000',
          },
        });
        try {
          const timer = (spec: BareCallSpec) => new BareAtlasCalls(sb.sim.url, spec, bare.process);
          const atlas: AtlasTimers = {
            read: timer(bareCalls.read),
            grant: timer(bareCalls.grant),
            revoke: timer(bareCalls.revoke),
            former: AtlasCallTimer.forSimulator(sb.sim.url),
          };
          await bare.process.send({
            cmd: 'grantSetup',
            setup: {
              read: bareRequest(sb.sim.url, bareCalls.read),
              write: bareRequest(sb.sim.url, bareCalls.grant),
              username: probe.email,
              challengeUrl: `${sb.sim.url}${projectUrlPath}`,
            },
          });
          const r = await measure(sb, atlas, bare);
          const coldPath = await measureColdPath(bare);
          const readMs = percentile(atlas.read.samplesMs, 50);
          const formerCallMs = percentile(atlas.former.samplesMs, 50);
          return [
            ...figures('grant', r.grants, {
              readMs,
              writeMs: percentile(atlas.grant.samplesMs, 50),
              bareMs: percentile(bare.intentSamplesMs, 50),
              minimalGrantMs: percentile(bare.grantSamplesMs, 50),
              formerCallMs,
              coldPath,
            }),
            ...figures('revoke', r.revokes, {
              readMs,
              writeMs: percentile(atlas.revoke.samplesMs, 50),
              bareMs: percentile(bare.samplesMs, 50),
              formerCallMs,
              coldPath,
            }),
          ];
        } finally {
          await sb.close();
        }
      } finally {
        await bare.close();
      }
    } finally {
      await stopPlane(twin);
    }
  },
};
