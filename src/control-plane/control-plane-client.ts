import { innermostCause } from '../runtime/cause-chain.js';
import type { z } from 'zod';
import { ConnectorError, isConnectorError } from '../errors/connector-error.js';
import { errorCodeForStatus, parseRetryAfter } from '../errors/from-http-status.js';
import type { Clock } from '../runtime/clock.js';
import { cutText } from '../runtime/cut-text.js';
import { deadlineSignal } from '../runtime/deadline-signal.js';
import type { Fetch, HttpReply } from '../runtime/http.js';
import type { Logger } from '../runtime/logger.js';
import {
  basePath,
  ClaimResponse,
  ExtendResponse,
  headers,
  HeartbeatResponse,
  IntentResponse,
  paths,
  ProtocolErrorBody,
  protocolVersion,
  RefreshResponse,
  RegisterResponse,
  ResultResponse,
  SnapshotCommitResponse,
  SnapshotCreateResponse,
  type ClaimRequest,
  type HeartbeatRequest,
  type LeaseRef,
  type RegisterRequest,
  type ReleaseRequest,
  type SerialisedResult,
  type SnapshotCreateRequest,
} from './protocol.js';

export interface ControlPlaneClientOptions {
  readonly baseUrl: string;
  /** Read lazily so a rotated token file is picked up on re-registration. */
  readonly enrollmentToken: () => Promise<string>;
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly userAgent: string;
  /** Called once per finished request, for metrics. */
  readonly onRequest?: (endpoint: string, status: string, durationMs: number) => void;
  /** Called with every new session token so it can be scrubbed from output. */
  readonly onSecret?: (value: string) => void;
}

export interface Session {
  readonly sessionId: string;
  readonly registration: z.infer<typeof RegisterResponse>;
}

interface CallOptions<T> {
  readonly endpoint: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
  /** A JSON body serialised already (a result): sent as it is, never serialised again. */
  readonly json?: string;
  readonly rawBody?: Uint8Array;
  readonly contentType?: string;
  readonly schema?: z.ZodType<T>;
  /** The protocol may answer this call `204` with no body (a claim with no jobs). */
  readonly mayAnswerEmpty?: boolean;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly idempotencyKey?: string;
  readonly auth: 'enrollment' | 'session';
}

const defaultTimeoutMs = 30_000;

/**
 * Protocol v1 client. Owns the session (id and access token): a 401 refreshes the token once, a
 * refused refresh or an unknown session re-registers. Every failure is a ConnectorError whose
 * `details.protocolCode` carries the server's `error.code`.
 */
/**
 * Whether a call's failure is the refusal of the endpoint it named, for good, rather than a failure
 * to renew the session the call needed first: a refused token (auth_failed), an enrollment token
 * file this process cannot read at that moment (config_invalid: a rotation under way), or any
 * answer to the token refresh or the registration (another endpoint). Those say nothing about what
 * the call carried, which may be sent again once the session is back.
 */
export function refusedBy(error: unknown, endpoint: string): boolean {
  if (!isConnectorError(error) || error.retryable) return false;
  if (error.code === 'auth_failed' || error.code === 'config_invalid') return false;
  const answered = error.details.endpoint;
  return answered === undefined || answered === endpoint;
}

export class ControlPlaneClient {
  private session: Session | undefined;
  private accessToken: string | undefined;
  /**
   * Monotonic time after which the access token is refreshed before the next call, while it still
   * works: an expired token cannot be refreshed (§3), and registering again would start a new
   * session every token lifetime (30 min on the reference server).
   */
  private refreshAt: number | undefined;
  private lastRegisterRequest: RegisterRequest | undefined;
  private renewing: Promise<void> | undefined;

  constructor(private readonly options: ControlPlaneClientOptions) {}

  get current(): Session | undefined {
    return this.session;
  }

  async register(request: RegisterRequest, signal?: AbortSignal): Promise<Session> {
    this.lastRegisterRequest = request;
    const registration = await this.call({
      endpoint: 'register',
      method: 'POST',
      path: paths.register,
      body: request,
      schema: RegisterResponse,
      auth: 'enrollment',
      signal,
    });
    this.options.onSecret?.(registration.accessToken);
    this.useToken(registration.accessToken, registration.expiresInMs);
    this.session = { sessionId: registration.sessionId, registration };
    return this.session;
  }

  /** A token is refreshed when a fifth of its life, at most a minute, is left. */
  private useToken(token: string, expiresInMs: number): void {
    this.accessToken = token;
    this.refreshAt = this.options.clock.monotonic() + expiresInMs - Math.min(60_000, expiresInMs / 5);
  }

  heartbeat(request: HeartbeatRequest, signal?: AbortSignal): Promise<z.infer<typeof HeartbeatResponse>> {
    return this.sessionCall((sid) => ({
      endpoint: 'heartbeat',
      method: 'POST',
      path: paths.heartbeat(sid),
      body: request,
      schema: HeartbeatResponse,
      signal,
    }));
  }

  /** Long-poll. Resolves with the raw job list (empty on 204); each job is parsed by the worker. */
  async claim(request: ClaimRequest, idempotencyKey: string, signal?: AbortSignal): Promise<unknown[]> {
    const answer = await this.sessionCall((sid) => ({
      endpoint: 'claim',
      method: 'POST',
      path: paths.claim(sid),
      body: request,
      schema: ClaimResponse,
      mayAnswerEmpty: true,
      idempotencyKey,
      signal,
      timeoutMs: request.waitMs + 10_000,
    }));
    return answer?.jobs ?? [];
  }

  extend(lease: LeaseRef, signal?: AbortSignal): Promise<z.infer<typeof ExtendResponse>> {
    return this.sessionCall(() => ({
      endpoint: 'extend',
      method: 'POST',
      path: paths.extend(lease.jobId),
      body: { leaseId: lease.leaseId, fencingToken: lease.fencingToken },
      schema: ExtendResponse,
      signal,
      timeoutMs: 10_000,
    }));
  }

  async release(lease: LeaseRef, reason: ReleaseRequest['reason'], signal?: AbortSignal): Promise<void> {
    await this.sessionCall(() => ({
      endpoint: 'release',
      method: 'POST',
      path: paths.release(lease.jobId),
      body: { leaseId: lease.leaseId, fencingToken: lease.fencingToken, reason },
      signal,
      timeoutMs: 5_000,
    }));
  }

  /** Sends the text the caller measured; a retry of the same result sends the same bytes. */
  submitResult(
    jobId: string,
    attempt: number,
    result: SerialisedResult,
    signal?: AbortSignal,
  ): Promise<z.infer<typeof ResultResponse>> {
    return this.sessionCall(() => ({
      endpoint: 'result',
      method: 'PUT',
      path: paths.result(jobId, attempt),
      json: result.json,
      schema: ResultResponse,
      idempotencyKey: `${jobId}:${attempt}`,
      signal,
    }));
  }

  /**
   * Feature `job-intent` (docs/protocol.md §4.7a): records what this attempt is about to change,
   * fenced by its lease. Called before the attempt's first Atlas write; a failure means no write.
   */
  async recordIntent(lease: LeaseRef, attempt: number, intent: unknown, signal?: AbortSignal): Promise<void> {
    await this.sessionCall(() => ({
      endpoint: 'intent',
      method: 'PUT',
      path: paths.intent(lease.jobId, attempt),
      body: { leaseId: lease.leaseId, fencingToken: lease.fencingToken, intent },
      schema: IntentResponse,
      signal,
      timeoutMs: 10_000,
    }));
  }

  createSnapshot(
    connectorId: string,
    request: SnapshotCreateRequest,
    signal?: AbortSignal,
  ): Promise<z.infer<typeof SnapshotCreateResponse>> {
    return this.sessionCall(() => ({
      endpoint: 'snapshot',
      method: 'POST',
      path: paths.snapshots(connectorId),
      body: request,
      schema: SnapshotCreateResponse,
      signal,
    }));
  }

  async putSnapshotPart(
    connectorId: string,
    snapshotId: string,
    part: number,
    gzipped: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.sessionCall(() => ({
      endpoint: 'snapshot_part',
      method: 'PUT',
      path: paths.snapshotPart(connectorId, snapshotId, part),
      rawBody: gzipped,
      contentType: 'application/gzip',
      signal,
    }));
  }

  async commitSnapshot(connectorId: string, snapshotId: string, signal?: AbortSignal): Promise<void> {
    await this.sessionCall(() => ({
      endpoint: 'snapshot_commit',
      method: 'POST',
      path: paths.snapshotCommit(connectorId, snapshotId),
      body: {},
      schema: SnapshotCommitResponse,
      signal,
    }));
  }

  /** Best effort: the server reaps dead sessions anyway. */
  async deregister(signal?: AbortSignal): Promise<void> {
    const session = this.session;
    if (!session) return;
    await this.call({
      endpoint: 'deregister',
      method: 'DELETE',
      path: paths.deregister(session.sessionId),
      auth: 'session',
      signal,
      timeoutMs: 1_000,
    });
    this.session = undefined;
  }

  /**
   * The control plane's `refresh_token` action (an operator rotating sessions): the next session
   * call refreshes the access token first, as it does ahead of expiry.
   */
  refreshSoon(): void {
    if (this.session) this.refreshAt = this.options.clock.monotonic();
  }

  /**
   * Runs a session-scoped call; on 401 refreshes (or re-registers) once and tries again. A 401 for
   * a token another call has already replaced only needs the retry: renewing again would revoke
   * the token every other call in flight is using, and their retries would meet 401 in turn.
   */
  private async sessionCall<T>(build: (sessionId: string) => Omit<CallOptions<T>, 'auth'>): Promise<T> {
    if (this.refreshAt !== undefined && this.options.clock.monotonic() >= this.refreshAt) {
      await this.refreshAhead(build(this.requireSession().sessionId).signal);
    }
    const session = this.requireSession();
    const usedToken = this.accessToken;
    try {
      return await this.call({ ...build(session.sessionId), auth: 'session' });
    } catch (error) {
      if (!(error instanceof ConnectorError) || !needsNewCredentials(error)) throw error;
      // A renewal in flight (another call's 401, or a refresh ahead of expiry) is awaited, not
      // joined: if it fails (a refresh meeting an expired token), this call still renews its own way.
      await this.renewing?.catch(() => undefined);
      if (this.accessToken === usedToken) await this.renewSession(error, build(session.sessionId).signal);
      return this.call({ ...build(this.requireSession().sessionId), auth: 'session' });
    }
  }

  private requireSession(): Session {
    if (!this.session) {
      throw new ConnectorError({ code: 'internal', message: 'control-plane call before registration' });
    }
    return this.session;
  }

  /**
   * Refreshes a token that is about to expire, single-flight with the 401 path. A failure here is
   * not the call's: the token still works, and a 401 later takes the usual path.
   */
  private async refreshAhead(signal?: AbortSignal): Promise<void> {
    this.renewing ??= this.refreshToken(signal).finally(() => {
      this.renewing = undefined;
    });
    try {
      await this.renewing;
    } catch (error) {
      this.options.logger.debug({ err: error }, 'access token refresh ahead of expiry failed');
    }
  }

  /** Single-flight: concurrent 401s lead to one refresh. */
  private renewSession(cause: ConnectorError, signal?: AbortSignal): Promise<void> {
    this.renewing ??= this.doRenew(cause, signal).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async refreshToken(signal?: AbortSignal): Promise<void> {
    const refreshed = await this.call({
      endpoint: 'refresh',
      method: 'POST',
      path: paths.refreshToken(this.requireSession().sessionId),
      body: {},
      schema: RefreshResponse,
      auth: 'session',
      signal,
    });
    this.options.onSecret?.(refreshed.accessToken);
    this.useToken(refreshed.accessToken, refreshed.expiresInMs);
  }

  private async doRenew(cause: ConnectorError, signal?: AbortSignal): Promise<void> {
    const session = this.requireSession();
    if (cause.details.protocolCode !== 'session_unknown') {
      try {
        await this.refreshToken(signal);
        return;
      } catch (error) {
        if (!(error instanceof ConnectorError) || !needsNewCredentials(error)) throw error;
      }
    }
    this.options.logger.warn(
      { sessionId: session.sessionId },
      'control-plane session rejected; registering again',
    );
    if (!this.lastRegisterRequest) throw cause;
    await this.register(this.lastRegisterRequest, signal);
  }

  private async call<T>(options: CallOptions<T>): Promise<T> {
    const started = this.options.clock.monotonic();
    const deadline = deadlineSignal(options.timeoutMs ?? defaultTimeoutMs, options.signal);
    let status = 'network_error';
    try {
      const response = await this.send(options, deadline.signal);
      status = String(response.status);
      return await this.readResponse(options, response);
    } finally {
      deadline.release();
      this.options.onRequest?.(options.endpoint, status, this.options.clock.monotonic() - started);
    }
  }

  private async send<T>(options: CallOptions<T>, signal: AbortSignal): Promise<HttpReply> {
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    const token = options.auth === 'enrollment' ? await this.options.enrollmentToken() : this.accessToken;
    const requestHeaders: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.options.userAgent,
      authorization: `Bearer ${token ?? ''}`,
      [headers.protocol]: String(protocolVersion),
      [headers.deadline]: String(timeoutMs),
    };
    if (this.session) requestHeaders[headers.session] = this.session.sessionId;
    if (options.idempotencyKey) requestHeaders[headers.idempotencyKey] = options.idempotencyKey;
    let body: string | Uint8Array | undefined;
    if (options.rawBody) {
      body = options.rawBody;
      requestHeaders['content-type'] = options.contentType ?? 'application/octet-stream';
    } else if (options.json !== undefined) {
      body = options.json;
      requestHeaders['content-type'] = 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      requestHeaders['content-type'] = 'application/json';
    }
    try {
      return await this.options.fetch(`${this.options.baseUrl}${basePath}${options.path}`, {
        method: options.method,
        headers: requestHeaders,
        body,
        signal,
      });
    } catch (error) {
      throw networkError(options, error);
    }
  }

  private async readResponse<T>(options: CallOptions<T>, response: HttpReply): Promise<T> {
    const text = await response.text().catch(() => '');
    if (!response.ok) throw this.httpError(options.endpoint, response, text);
    // Only a claim's 204 has no body: an empty 200 is no protocol answer (an intermediary's), and a
    // claim taken for "no jobs" would leave the jobs it leased unrun until their leases expire; a
    // result or commit taken as done on an intermediary's 204 would be dropped unseen by the server.
    if (!options.schema || (response.status === 204 && options.mayAnswerEmpty)) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = options.schema.safeParse(json);
    if (!parsed.success) {
      // An undecodable answer is usually a proxy's error page: worth another try (agent-protocols §7.6).
      throw new ConnectorError({
        code: 'invalid_response',
        retryable: true,
        message: `control plane ${options.endpoint}: response does not match protocol v1 (${parsed.error.issues[0]?.path.join('.') ?? 'body'})`,
        details: { endpoint: options.endpoint, httpStatus: response.status },
      });
    }
    return parsed.data;
  }

  private httpError(endpoint: string, response: HttpReply, text: string): ConnectorError {
    let protocolCode: string | undefined;
    let message = response.statusText;
    try {
      const body = ProtocolErrorBody.parse(JSON.parse(text));
      protocolCode = body.error.code;
      message = body.error.message;
    } catch {
      // Not our error envelope (a proxy or load balancer answered): retry like a 5xx.
    }
    const code = errorCodeForStatus(response.status);
    return new ConnectorError({
      code,
      // Any status without a protocol body, a redirect (never followed) included, is an
      // intermediary's answer: retried (§2). A 401 renews the session instead.
      retryable: protocolCode === undefined && response.status !== 401 ? true : undefined,
      message: `control plane ${endpoint}: HTTP ${response.status}${protocolCode ? ` ${protocolCode}` : ''}: ${cutText(message, 300)}`,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.options.clock.now()),
      details: { endpoint, httpStatus: response.status, protocolCode },
    });
  }
}

function needsNewCredentials(error: ConnectorError): boolean {
  return error.code === 'auth_failed' || error.details.protocolCode === 'session_unknown';
}

function networkError<T>(options: CallOptions<T>, error: unknown): ConnectorError {
  if (options.signal?.aborted) {
    return new ConnectorError({
      code: 'cancelled',
      message: `control plane ${options.endpoint}: cancelled`,
      cause: error,
    });
  }
  const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
  return new ConnectorError({
    code: timedOut ? 'timeout' : 'upstream_unavailable',
    // The innermost cause names the reason (a certificate error, ECONNREFUSED, ENOTFOUND…).
    message: `control plane ${options.endpoint}: ${timedOut ? 'timed out' : `unreachable (${innermostCause(error)})`}`,
    details: { endpoint: options.endpoint },
    cause: error,
  });
}
