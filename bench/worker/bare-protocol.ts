import {
  basePath,
  ClaimResponse,
  headers,
  JobEnvelope,
  paths,
  protocolVersion,
  RegisterResponse,
  type RegisterRequest,
  type ResultRequest,
} from '../../src/control-plane/protocol.js';
import type { BareHttp, BareResponse } from '../bare-http.js';

/**
 * The control-plane protocol as bare HTTP calls — raw node:http with a keep-alive agent
 * (`bench/bare-http.ts`), the cheapest client, on the same Node modules as the daemon — with the
 * headers the connector sends and nothing else: no retries, no outbox, no lease keeping. It is
 * the floor the worker is compared to.
 */
export interface BareSession {
  /** The process's one bare client, given to `register`. */
  readonly http: BareHttp;
  readonly baseUrl: string;
  readonly sessionId: string;
  readonly accessToken: string;
}

const userAgent = 'atlas-jit-connector-bench/bare';

function commonHeaders(token: string, timeoutMs: number): Record<string, string> {
  return {
    accept: 'application/json',
    'user-agent': userAgent,
    authorization: `Bearer ${token}`,
    [headers.protocol]: String(protocolVersion),
    [headers.deadline]: String(timeoutMs),
    'content-type': 'application/json',
  };
}

function expectStatus(response: BareResponse, allowed: readonly number[], what: string): string {
  if (!allowed.includes(response.status)) {
    throw new Error(`${what}: HTTP ${response.status} ${response.text.slice(0, 300)}`);
  }
  return response.text;
}

export async function register(
  http: BareHttp,
  baseUrl: string,
  enrollmentToken: string,
  connectorId: string,
  maxJobs: number,
): Promise<BareSession> {
  const request: RegisterRequest = {
    connectorId,
    instanceId: `${connectorId}:${process.pid}`,
    version: '0.0.0-bench',
    protocol: protocolVersion,
    capacity: { maxJobs },
    features: [],
    jobTypes: ['ping'],
    startedAt: new Date().toISOString(),
  };
  const response = await http(`${baseUrl}${basePath}${paths.register}`, {
    method: 'POST',
    headers: commonHeaders(enrollmentToken, 10_000),
    body: JSON.stringify(request),
  });
  const answer = RegisterResponse.parse(JSON.parse(expectStatus(response, [201], 'register')));
  return { http, baseUrl, sessionId: answer.sessionId, accessToken: answer.accessToken };
}

/** One long-poll claim; an empty list is the server's 204. */
export async function claim(
  session: BareSession,
  maxJobs: number,
  waitMs: number,
  idempotencyKey: string,
): Promise<JobEnvelope[]> {
  const response = await session.http(`${session.baseUrl}${basePath}${paths.claim(session.sessionId)}`, {
    method: 'POST',
    headers: {
      ...commonHeaders(session.accessToken, waitMs + 10_000),
      [headers.session]: session.sessionId,
      [headers.idempotencyKey]: idempotencyKey,
    },
    body: JSON.stringify({ maxJobs, waitMs }),
  });
  const text = expectStatus(response, [200, 204], 'claim');
  if (response.status === 204) return [];
  return ClaimResponse.parse(JSON.parse(text)).jobs.map((job) => JobEnvelope.parse(job));
}

/** PUTs a result; the same call with the same body is an idempotent replay. */
export async function putResult(
  session: BareSession,
  jobId: string,
  attempt: number,
  body: ResultRequest,
): Promise<void> {
  const response = await session.http(`${session.baseUrl}${basePath}${paths.result(jobId, attempt)}`, {
    method: 'PUT',
    headers: {
      ...commonHeaders(session.accessToken, 30_000),
      [headers.session]: session.sessionId,
      [headers.idempotencyKey]: `${jobId}:${attempt}`,
    },
    body: JSON.stringify(body),
  });
  expectStatus(response, [200], 'result');
}

/** Records a job intent (feature `job-intent`), fenced by the lease, as a grant does before writing. */
export async function putIntent(session: BareSession, job: JobEnvelope, intent: unknown): Promise<void> {
  const response = await session.http(
    `${session.baseUrl}${basePath}${paths.intent(job.jobId, job.attempt)}`,
    {
      method: 'PUT',
      headers: { ...commonHeaders(session.accessToken, 10_000), [headers.session]: session.sessionId },
      body: JSON.stringify({ leaseId: job.leaseId, fencingToken: job.fencingToken, intent }),
    },
  );
  expectStatus(response, [200], 'intent');
}

export async function deregister(session: BareSession): Promise<void> {
  const response = await session.http(`${session.baseUrl}${basePath}${paths.deregister(session.sessionId)}`, {
    method: 'DELETE',
    headers: { ...commonHeaders(session.accessToken, 1_000), [headers.session]: session.sessionId },
  });
  expectStatus(response, [204], 'deregister');
}
