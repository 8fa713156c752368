import { ClaimRequest, headers, type JobEnvelope } from '../../control-plane/protocol.js';
import type { ClaimWaiter } from './claim-waiters.js';
import { headerValue, isWritable, parseJson, readBody, sendEmpty, sendJson } from './http-io.js';
import { protocolError } from './protocol-errors.js';
import { maxJsonBodyBytes, type ConnectorRoute, type SessionContext } from './route-types.js';

/**
 * `jobs:claim`, a long-poll: ready jobs are answered at once, otherwise the request is held until
 * a job becomes ready (event-driven) or `min(waitMs, pollWaitMs)` passes (204).
 */
async function claim(ctx: SessionContext): Promise<void> {
  const { core, session } = ctx;
  const body = parseJson(ClaimRequest, await readBody(ctx.req, maxJsonBodyBytes));
  // The session may have deregistered while the body arrived: nothing may be leased to it (§4.9).
  if (session.deregisteredAt !== null) {
    throw protocolError('session_unknown', `session ${session.sessionId} is not registered`);
  }
  if (session.state === 'draining' || session.state === 'paused') {
    throw protocolError('session_draining', `session ${session.sessionId} is ${session.state}`);
  }
  // Only an explicit `types` filters: registered jobTypes are informational, so a job no
  // connector can run fails fast with invalid_job instead of waiting out its notAfter.
  const request: ClaimRequest = body;
  const key = headerValue(ctx.req, headers.idempotencyKey);
  if (key !== undefined) {
    const recalled = core.sessions.recallClaim(session, key);
    if (recalled) return replay(ctx, request, key, recalled);
    // A retry with the key of a claim still held: that earlier request is presumed dead.
    core.waiters.endWhere((w) => w.sessionId === session.sessionId && w.idempotencyKey === key);
  }
  const jobs = core.jobs.claim(session.sessionId, request, session.registration.connectorId);
  if (jobs.length > 0) return deliver(ctx, key, jobs);
  const holdMs = Math.min(request.waitMs, core.settings.intervals.pollWaitMs);
  if (holdMs === 0) return sendEmpty(ctx.res, 204);
  return hold(ctx, request, key, holdMs);
}

/**
 * A retried claim gets the jobs the first one leased, if this session still holds them, and never
 * more than it asks for now: the rest are taken back (queued again, uncharged), since the client
 * never saw them. The answer is delivered like a first one: if it cannot be written, its leases
 * are taken back too and the key is forgotten.
 */
function replay(
  ctx: SessionContext,
  request: ClaimRequest,
  key: string,
  recalled: readonly { jobId: string; leaseId: string }[],
): void {
  const held = recalled
    .map((lease) => ctx.core.jobs.reclaim(ctx.session.sessionId, lease.jobId, lease.leaseId))
    .filter((job): job is JobEnvelope => job !== undefined);
  const jobs = held.slice(0, request.maxJobs);
  if (held.length > jobs.length) ctx.core.jobs.undeliver(held.slice(jobs.length));
  if (jobs.length === 0) return sendEmpty(ctx.res, 204);
  return deliver(ctx, key, jobs);
}

/** Writes leased jobs out; if the answer cannot be written, the leases are taken back. */
function deliver(ctx: SessionContext, key: string | undefined, jobs: JobEnvelope[]): void {
  const { core, session, res } = ctx;
  const leases = jobs.map((job) => ({ jobId: job.jobId, leaseId: job.leaseId }));
  if (key !== undefined) core.sessions.rememberClaim(session, key, leases);
  const lost = (): void => {
    core.jobs.undeliver(jobs);
    if (key !== undefined) core.sessions.forgetClaim(session, key);
    core.logger.warn(
      { sessionId: session.sessionId, jobs: leases.length },
      'claim answer lost; jobs re-queued',
    );
  };
  if (!isWritable(res)) return lost();
  const socket = res.socket;
  res.once('close', () => {
    // Node reports a response finished even when its socket failed before the last byte went out.
    if (!res.writableFinished || socket?.errored) lost();
  });
  core.logger.debug({ sessionId: session.sessionId, jobIds: leases.map((l) => l.jobId) }, 'jobs leased');
  return sendJson(res, 200, { jobs });
}

function hold(
  ctx: SessionContext,
  request: ClaimRequest,
  key: string | undefined,
  holdMs: number,
): Promise<void> {
  const { core, res } = ctx;
  return new Promise((resolve) => {
    const timer = new AbortController();
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      timer.abort();
      core.waiters.remove(waiter);
      resolve();
      return true;
    };
    const waiter: ClaimWaiter = {
      sessionId: ctx.session.sessionId,
      idempotencyKey: key,
      request,
      isOpen: () => !done && isWritable(res),
      deliver: (jobs) => {
        if (finish()) deliver(ctx, key, jobs);
        else core.jobs.undeliver(jobs);
      },
      end: () => {
        if (finish()) sendEmpty(res, 204);
      },
    };
    res.once('close', () => finish());
    core.clock.sleep(holdMs, timer.signal).then(waiter.end, () => undefined);
    core.waiters.add(waiter);
  });
}

export const claimRoute: ConnectorRoute = {
  name: 'claim',
  method: 'POST',
  pattern: /^\/sessions\/([^/]+)\/jobs:claim$/,
  auth: 'sessionPath',
  handle: async (ctx) => {
    // The claim writes its own answer: it may be held open and must know whether it got through.
    await claim(ctx);
    return undefined;
  },
};
