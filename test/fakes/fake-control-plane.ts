import { ConnectorError } from '../../src/errors/connector-error.js';
import type { Session } from '../../src/control-plane/control-plane-client.js';
import type {
  ClaimRequest,
  HeartbeatRequest,
  HeartbeatResponse,
  JobEnvelope,
  LeaseRef,
  RegisterRequest,
  ResultRequest,
  SerialisedResult,
} from '../../src/control-plane/protocol.js';
import type { ControlPlanePort } from '../../src/worker/worker.js';
import type { FakeClock } from './fake-clock.js';

type Behaviour<T> = (call: number) => T | Error;

/**
 * An in-memory control plane at the client-port level. Each endpoint's behaviour can be replaced
 * per test; every call is recorded so tests can assert what the worker sent.
 */
export class FakeControlPlane implements ControlPlanePort {
  readonly calls = {
    register: [] as RegisterRequest[],
    heartbeat: [] as HeartbeatRequest[],
    claim: [] as { request: ClaimRequest; key: string }[],
    extend: [] as LeaseRef[],
    release: [] as { lease: LeaseRef; reason: string }[],
    refreshSoon: 0,
    /** `json` is the text sent; `body` is that text read back, for assertions. */
    results: [] as { jobId: string; attempt: number; body: ResultRequest; json: string }[],
    intents: [] as { lease: LeaseRef; attempt: number; intent: unknown }[],
    deregister: 0,
  };
  readonly queue: unknown[] = [];
  extendBehaviour: Behaviour<{ leaseTtlMs: number; cancelRequested: boolean }> = () => ({
    leaseTtlMs: 30_000,
    cancelRequested: false,
  });
  resultBehaviour: Behaviour<{ accepted: true; jobState: 'succeeded' }> = () => ({
    accepted: true,
    jobState: 'succeeded',
  });
  intentBehaviour: Behaviour<void> = () => undefined;
  releaseBehaviour: Behaviour<void> = () => undefined;
  heartbeatBehaviour: Behaviour<Partial<HeartbeatResponse>> = () => ({});
  /**
   * The control plane stopped answering: heartbeats, extends, releases, results and deregisters
   * are recorded, then wait until their caller's signal aborts (a peer that never replies).
   */
  silent = false;
  current: Session | undefined;

  constructor(private readonly clock: FakeClock) {}

  async register(request: RegisterRequest): Promise<Session> {
    this.calls.register.push(request);
    this.current = {
      sessionId: 'session-1',
      registration: {
        sessionId: 'session-1',
        accessToken: 'access-token-1',
        expiresInMs: 3_600_000,
        intervals: { heartbeatMs: 10_000, pollWaitMs: 20_000, leaseTtlMs: 30_000 },
        limits: { maxPayloadBytes: 262_144 },
        serverTime: new Date(this.clock.now()).toISOString(),
      },
    };
    return this.current;
  }

  async heartbeat(request: HeartbeatRequest, signal?: AbortSignal): Promise<HeartbeatResponse> {
    this.calls.heartbeat.push(request);
    if (this.silent) await this.unanswered(signal);
    const answer = this.heartbeatBehaviour(this.calls.heartbeat.length);
    if (answer instanceof Error) throw answer;
    const now = new Date(this.clock.now()).toISOString();
    return { serverTime: now, receivedAt: now, actions: [], releaseLeases: [], ...answer };
  }

  /** Hands out queued jobs; otherwise holds like a long-poll until aborted or the wait ends. */
  async claim(request: ClaimRequest, key: string, signal?: AbortSignal): Promise<unknown[]> {
    this.calls.claim.push({ request, key });
    if (this.queue.length > 0) return this.queue.splice(0, request.maxJobs);
    await this.clock.sleep(request.waitMs, signal);
    return [];
  }

  async extend(lease: LeaseRef, signal?: AbortSignal) {
    this.calls.extend.push(lease);
    if (this.silent) await this.unanswered(signal);
    const answer = this.extendBehaviour(this.calls.extend.length);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async release(lease: LeaseRef, reason: string, signal?: AbortSignal): Promise<void> {
    this.calls.release.push({ lease, reason });
    if (this.silent) await this.unanswered(signal);
    const answer = this.releaseBehaviour(this.calls.release.length);
    if (answer instanceof Error) throw answer;
  }

  async recordIntent(lease: LeaseRef, attempt: number, intent: unknown): Promise<void> {
    this.calls.intents.push({ lease, attempt, intent });
    const answer = this.intentBehaviour(this.calls.intents.length);
    if (answer instanceof Error) throw answer;
  }

  async submitResult(jobId: string, attempt: number, result: SerialisedResult, signal?: AbortSignal) {
    this.recordResult(jobId, attempt, result);
    if (this.silent) await this.unanswered(signal);
    const answer = this.resultBehaviour(this.calls.results.length);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async deregister(signal?: AbortSignal): Promise<void> {
    this.calls.deregister += 1;
    if (this.silent) await this.unanswered(signal);
  }

  /** Records a result as `submitResult` does (for a test that replaces `submitResult`). */
  recordResult(jobId: string, attempt: number, result: SerialisedResult): void {
    this.calls.results.push({
      jobId,
      attempt,
      body: JSON.parse(result.json) as ResultRequest,
      json: result.json,
    });
  }

  refreshSoon(): void {
    this.calls.refreshSoon += 1;
  }

  /** Only the caller's signal ends the wait (it rejects); without one it never ends. */
  private unanswered(signal?: AbortSignal): Promise<never> {
    return new Promise((_resolve, reject) => {
      if (signal?.aborted) reject(signal.reason);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }
}

export function envelope(overrides: Partial<JobEnvelope> = {}): JobEnvelope {
  return {
    jobId: 'job-1',
    type: 'ping',
    attempt: 1,
    leaseId: 'lease-1',
    fencingToken: 7,
    leaseTtlMs: 30_000,
    notAfter: '2099-01-01T00:00:00.000Z',
    resourceKey: 'job/job-1',
    integration: null,
    payload: JSON.stringify({ echo: 'hi' }),
    ...overrides,
  };
}

export const httpError = (
  code: ConnectorError['code'],
  protocolCode?: string,
  retryAfterMs?: number,
): ConnectorError =>
  new ConnectorError({ code, message: `fake ${code}`, details: { protocolCode }, retryAfterMs });
