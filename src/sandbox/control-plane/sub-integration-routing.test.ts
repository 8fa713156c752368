import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { captureLogs } from '../../../test/fakes/log-capture.js';
import { protocolVersion } from '../../control-plane/protocol.js';
import { createStoreFacade } from './control-plane-store.js';
import { createCore } from './core.js';

function setup() {
  const core = createCore({
    clock: new FakeClock(),
    random: new FakeRandom(),
    logger: captureLogs().logger,
    settings: {
      intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 },
      maxAttempts: 5,
      maxPayloadBytes: 262_144,
      accessTokenTtlMs: 1_800_000,
    },
    enrollmentToken: 'token',
  });
  const store = createStoreFacade(core);
  store.putIntegration({ id: 'org', kind: 'atlas-org-deep-discovery', config: {}, secretRef: 'env://X' });
  /** Commits a snapshot as `connectorId` whose lines are `records`. */
  const report = (connectorId: string, generation: number, records: object[]): void => {
    const text = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
    const contentSha256 = createHash('sha256').update(text).digest('hex');
    const request = {
      integrationId: 'org',
      jobId: `d-${generation}`,
      generation,
      contentSha256,
      parts: 1,
      sizeBytes: text.length,
    };
    const { snapshotId, skip } = core.snapshots.create(connectorId, request);
    if (skip) return;
    core.snapshots.putPart(connectorId, snapshotId, 1, gzipSync(text));
    core.snapshots.commit(connectorId, snapshotId);
  };
  const session = (connectorId: string): string =>
    core.sessions.register({
      connectorId,
      instanceId: `${connectorId}-1`,
      version: '0',
      protocol: protocolVersion,
      capacity: { maxJobs: 8 },
      features: [],
      jobTypes: [],
      startedAt: '2026-12-04T00:00:00Z',
    }).session.sessionId;
  const claim = (connectorId: string, sessionId: string) =>
    core.jobs.claim(sessionId, { maxJobs: 8 }, connectorId).map((job) => job.jobId);
  return { core, store, report, session, claim };
}

const sub = (id: string, connectorId: string) => ({ type: 'subIntegration', id, connectorId });
const unlisted = (projectId: string) => ({ type: 'project', id: projectId, reason: 'clusters: 503' });

describe('sub-integration job routing in the reference control plane', () => {
  it('addresses a job naming a sub-integration to the connector discovery reported for it', () => {
    const { store, report } = setup();
    report('vpc-a', 1, [sub('p1:A', 'vpc-a'), sub('p1:B', 'vpc-b')]);

    const a = store.enqueueJob({
      type: 'grant',
      integrationId: 'org',
      payload: { subIntegrationId: 'p1:A' },
    });
    const b = store.enqueueJob({
      type: 'grant',
      integrationId: 'org',
      payload: { subIntegrationId: 'p1:B' },
    });

    expect([store.job(a)?.connectorId, store.job(b)?.connectorId]).toEqual(['vpc-a', 'vpc-b']);
  });

  it('lets only the addressed connector claim the job; an unaddressed job goes to anyone', () => {
    const { store, report, session, claim } = setup();
    report('vpc-a', 1, [sub('p1:B', 'vpc-b')]);
    const routed = store.enqueueJob({
      type: 'grant',
      integrationId: 'org',
      payload: { subIntegrationId: 'p1:B' },
    });
    const [sessionA, sessionB] = [session('vpc-a'), session('vpc-b')];

    expect(claim('vpc-a', sessionA)).toEqual([]);
    expect(claim('vpc-b', sessionB)).toEqual([routed]);
    const open = store.enqueueJob({ type: 'discover', integrationId: 'org' });
    expect(claim('vpc-a', sessionA)).toEqual([open]);
  });

  it('keeps each connector snapshot of one integration, so an unchanged report is skipped per connector', () => {
    const { core, report } = setup();
    report('vpc-a', 1, [sub('p1:A', 'vpc-a')]);
    report('vpc-b', 2, [sub('p1:A', 'vpc-a'), sub('p1:B', 'vpc-b')]);
    report('vpc-a', 3, [sub('p1:A', 'vpc-a')]);

    expect(core.snapshots.committed('org').map((s) => s.connectorId)).toEqual(['vpc-a', 'vpc-b']);
    expect(core.snapshots.connectorFor('org', 'p1:B')).toBe('vpc-b');
    expect(core.snapshots.connectorFor('org', 'p9:Z')).toBeUndefined();
  });

  it('routes by the newest discovery, also when that discovery was skipped as unchanged', () => {
    const { store, report } = setup();
    report('vpc-a', 1, [sub('p1:X', 'vpc-a')]);
    report('vpc-b', 2, [sub('p1:X', 'vpc-b')]);
    report('vpc-a', 3, [sub('p1:X', 'vpc-a')]);

    const job = store.enqueueJob({
      type: 'grant',
      integrationId: 'org',
      payload: { subIntegrationId: 'p1:X' },
    });
    expect(store.job(job)?.connectorId).toBe('vpc-a');
  });

  it('keeps routing the clusters of a project that could not be listed, as the last listing said', () => {
    const { core, report } = setup();
    report('vpc-b', 1, [sub('p1:X', 'vpc-b')]);
    report('vpc-a', 2, [sub('p1:X', 'vpc-a'), sub('p2:Y', 'vpc-a')]);
    report('vpc-a', 3, [unlisted('p1')]);
    report('vpc-a', 4, [unlisted('p1'), sub('p3:Z', 'vpc-a')]);

    expect(core.snapshots.connectorFor('org', 'p1:X')).toBe('vpc-a');
    expect(core.snapshots.connectorFor('org', 'p2:Y')).toBeUndefined();
  });

  it('does not let a project it could not list put its older routing over a newer discovery of another connector', () => {
    const { core, report } = setup();
    report('vpc-a', 1, [sub('p1:X', 'vpc-a')]);
    // Re-tagged to vpc-b: vpc-b's discovery says so, then vpc-a cannot list p1 for a while.
    report('vpc-b', 2, [sub('p1:X', 'vpc-b')]);
    report('vpc-a', 3, [unlisted('p1')]);
    report('vpc-a', 4, [unlisted('p1')]);

    expect(core.snapshots.connectorFor('org', 'p1:X')).toBe('vpc-b');
  });

  it('takes an explicit connectorId over the discovered one (an operator override)', () => {
    const { store, report } = setup();
    report('vpc-a', 1, [sub('p1:B', 'vpc-b')]);
    const job = store.enqueueJob({
      type: 'grant',
      integrationId: 'org',
      connectorId: 'vpc-a',
      payload: { subIntegrationId: 'p1:B' },
    });
    expect(store.job(job)?.connectorId).toBe('vpc-a');
  });
});
