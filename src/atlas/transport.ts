import type { z } from 'zod';
import type { ConnectorError } from '../errors/connector-error.js';
import { hintUpToCapDelay, jitterAfterHint, withRetry, type BackoffPolicy } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import type { HttpHeaders } from '../runtime/http.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import { deadlineSignal } from '../runtime/deadline-signal.js';
import { guardWrites, runWriteGuard } from '../runtime/write-guard.js';
import { atlasHttpError, attemptTimeoutError, invalidResponseError, transportError } from './atlas-error.js';
import type { AuthSession } from './auth/auth-session.js';
import {
  apiPrefix,
  atlasOperations,
  expandPath,
  mediaType,
  rateScopeKey,
  rateScopeOf,
  type HttpMethod,
  type OperationId,
  type PathParams,
} from './operations.js';
import { pageEnvelope, pagePosition, toPage, type Page, type PageOptions } from './pagination.js';
import type { RateLimiter } from './rate-limiter.js';

export type QueryValue = string | number | boolean | readonly string[] | undefined;
export type QueryParams = Readonly<Record<string, QueryValue>>;

export interface AtlasRequest {
  readonly operation: OperationId;
  readonly params?: PathParams;
  readonly query?: QueryParams;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

/** One HTTP attempt, for metrics. `path` is the template (bounded cardinality); status 0 = no response. */
export interface RequestInfo {
  readonly operation: OperationId;
  readonly method: HttpMethod;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
}

/**
 * The last `RateLimit-*` headers seen per scope (`project:<id>`, `org:<id>` or `user`), for the
 * `maxRateLimitObservations` scopes answered most recently.
 */
export interface RateLimitObservation {
  readonly scope: string;
  readonly limit?: number;
  readonly remaining?: number;
  readonly observedAtMs: number;
}

export interface TransportOptions {
  readonly baseUrl: string;
  readonly session: AuthSession;
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly userAgent: string;
  readonly maxRetries: number;
  readonly backoff: BackoffPolicy;
  /**
   * How long one HTTP attempt (with its auth round trips) may take before it is abandoned as a
   * retryable `timeout`; the retry rules then apply as to any other failure.
   */
  readonly attemptTimeoutMs: number;
  /**
   * How long one call may keep retrying 429s (every operation: Atlas executed nothing it refused
   * with 429). The job's signal ends it sooner when the lease is lost or the job cancelled.
   */
  readonly rateLimitBudgetMs: number;
  readonly onRequest?: (info: RequestInfo) => void;
  /** Called when a paced call leaves the pacer, with the time it spent queued there. */
  readonly onPaced?: (info: PacedInfo) => void;
  /** Called before each retry of a failed attempt, with the failed attempt's error code. */
  readonly onRetry?: (info: RetryInfo) => void;
}

export interface PacedInfo {
  readonly operation: OperationId;
  readonly scope: 'project' | 'org';
  readonly waitedMs: number;
}

export interface RetryInfo {
  readonly operation: OperationId;
  readonly code: string;
}

/** The one place that turns an operation id into an HTTP exchange; resources only describe calls. */
export interface Transport {
  json<T>(request: AtlasRequest, schema: z.ZodType<T>): Promise<T>;
  /** A plain JSON array (not paginated); invalid items are dropped and logged. */
  array<T>(request: AtlasRequest, item: z.ZodType<T>): Promise<T[]>;
  page<T>(request: AtlasRequest, position: PageOptions | undefined, item: z.ZodType<T>): Promise<Page<T>>;
  /** For 202/204 answers whose body, if any, we do not use (but it must be empty or JSON). */
  none(request: AtlasRequest): Promise<void>;
  rateLimits(): readonly RateLimitObservation[];
}

interface Exchange {
  readonly status: number;
  readonly text: string;
}

/** How many scopes `rateLimits()` remembers: the ones answered most recently. */
export const maxRateLimitObservations = 1_000;

export function createTransport(options: TransportOptions): Transport {
  return new AtlasTransport(options);
}

class AtlasTransport implements Transport {
  private readonly observations = new Map<string, RateLimitObservation>();

  constructor(private readonly options: TransportOptions) {}

  async json<T>(request: AtlasRequest, schema: z.ZodType<T>): Promise<T> {
    return this.parseWith(request, await this.exchange(request), schema);
  }

  async array<T>(request: AtlasRequest, item: z.ZodType<T>): Promise<T[]> {
    const exchanged = await this.exchange(request);
    const raw = this.parseJson(request, exchanged);
    if (!Array.isArray(raw))
      throw invalidResponseError(request.operation, 'expected an array', exchanged.status);
    return this.parseItems(request.operation, raw, item);
  }

  async page<T>(
    request: AtlasRequest,
    options: PageOptions | undefined,
    item: z.ZodType<T>,
  ): Promise<Page<T>> {
    const position = pagePosition(options, request.operation);
    const query = { ...request.query, pageNum: position.pageNum, itemsPerPage: position.itemsPerPage };
    const exchanged = await this.exchange({ ...request, query });
    const envelope = this.parseWith(request, exchanged, pageEnvelope);
    return toPage(envelope, position, this.parseItems(request.operation, envelope.results, item));
  }

  async none(request: AtlasRequest): Promise<void> {
    const exchanged = await this.exchange(request);
    // Atlas answers a delete 204 with no body. A 2xx with a body that is not JSON is not Atlas's
    // (a proxy's sign-in or block page): taken as done, a revoke would report access removed that
    // Atlas never saw.
    if (exchanged.text.trim() !== '') this.parseJson(request, exchanged);
  }

  rateLimits(): readonly RateLimitObservation[] {
    return [...this.observations.values()];
  }

  /**
   * Paced, retried and mapped to ConnectorError. 429s are retried for every operation within
   * `rateLimitBudgetMs`; other retryable failures only for idempotent operations (a non-idempotent
   * write that may have run is left to the adapters' read-after-write convergence).
   */
  private exchange(request: AtlasRequest): Promise<Exchange> {
    const { operation, signal } = request;
    const { options } = this;
    const url = buildUrl(options.baseUrl, expandPath(operation, request.params), request.query);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const scope = rateScopeOf(operation, request.params);
    const paced = async (): Promise<Exchange> => {
      const queuedAt = options.clock.monotonic();
      const task = () => {
        if (scope) {
          options.onPaced?.({ operation, scope: scope.kind, waitedMs: options.clock.monotonic() - queuedAt });
        }
        return this.attempt(request, url, body);
      };
      try {
        return await options.limiter.schedule(scope, task, signal);
      } catch (error) {
        // The limiter rejects an aborted wait with the signal's raw reason.
        throw transportError(error, operation, signal);
      }
    };
    const idempotent = atlasOperations[operation].idempotent;
    // The budget starts at the first 429, not here: time queued in the client's own pacer is not
    // time Atlas spent refusing the call.
    let rateLimitDeadline: number | undefined;
    const budgetEnd = (): number =>
      (rateLimitDeadline ??= options.clock.monotonic() + options.rateLimitBudgetMs);
    const throttled = (error: ConnectorError): boolean => error.details.httpStatus === 429;
    // The ATLAS_MAX_RETRIES allowance and its backoff belong to the other retryable failures
    // (5xx, network) alone: 429s spent under a rate-limit burst must not use it up, or one 503
    // after a few 429s would fail a call that the allowance is there to carry.
    let failures = 0;
    return withRetry(paced, {
      ...options.backoff,
      clock: options.clock,
      random: options.random,
      signal,
      maxAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: (error) => {
        if (!error.retryable) return false;
        if (throttled(error)) return options.clock.monotonic() + (error.retryAfterMs ?? 0) < budgetEnd();
        failures += 1;
        return idempotent && failures <= options.maxRetries;
      },
      delayFor: (error, attempt) =>
        throttled(error)
          ? // The hint fits the budget (shouldRetry); its jitter may not, and is cut to the budget's end.
            Math.min(
              jitterAfterHint(options.backoff, attempt, options.random, error.retryAfterMs),
              Math.max(0, budgetEnd() - options.clock.monotonic()),
            )
          : hintUpToCapDelay(options.backoff, failures - 1, options.random, error.retryAfterMs),
      onRetry: (error: ConnectorError, retry: number, delayMs: number) => {
        options.onRetry?.({ operation, code: error.code });
        options.logger.warn(
          {
            operation,
            code: error.code,
            atlasErrorCode: error.details.atlasErrorCode,
            attempt: retry + 1,
            delayMs,
          },
          'atlas call failed; retrying',
        );
      },
    });
  }

  /** One HTTP attempt (the auth layer may add its own challenge round trip). */
  private async attempt(request: AtlasRequest, url: string, body: string | undefined): Promise<Exchange> {
    const { operation, signal } = request;
    const { clock, session } = this.options;
    const spec = atlasOperations[operation];
    // The credential first, outside the attempt: a secret store that fails is its own error, not
    // an Atlas request that got no answer (code 0 in the request metric), and a slow one does not
    // use up the attempt's timeout.
    try {
      await session.ready(signal);
    } catch (error) {
      throw transportError(error, operation, signal);
    }
    // Before every attempt of a write, retries included: the job's lease may have lapsed while it
    // waited (a refusal is the job's own error: lease lost, or cancelled).
    if (spec.method !== 'GET') runWriteGuard(signal);
    const media = mediaType(spec.version);
    const headers: Record<string, string> = { accept: media, 'user-agent': this.options.userAgent };
    if (body !== undefined) headers['content-type'] = media;
    const started = clock.monotonic();
    // The caller's signal ends only with the lease, a cancel or shutdown: without a deadline of its
    // own, a peer that accepts and never answers would hold the job and its resource's turn for good.
    const deadline = deadlineSignal(this.options.attemptTimeoutMs, signal);
    // The auth layer may send a write again (after a 401 and a token re-mint or a credential read
    // again): the attempt's own signal carries the job's check to it.
    if (spec.method !== 'GET') guardWrites(deadline.signal, () => runWriteGuard(signal));
    let status = 0;
    try {
      const response = await session.send({ method: spec.method, url, headers, body }, deadline.signal);
      status = response.status;
      this.observeRateLimit(rateScopeKey(rateScopeOf(operation, request.params)), response.headers);
      const text = await response.text();
      if (response.ok) return { status, text };
      const secrets = [...session.secrets(), ...bodySecrets(request.body)];
      throw atlasHttpError({
        operation,
        status,
        headers: response.headers,
        bodyText: text,
        nowMs: clock.now(),
        redact: (value) => redact(value, secrets),
      });
    } catch (error) {
      if (deadline.timedOut()) throw attemptTimeoutError(operation, this.options.attemptTimeoutMs, error);
      throw transportError(error, operation, signal);
    } finally {
      deadline.release();
      this.report({
        operation,
        method: spec.method,
        path: spec.path,
        status,
        durationMs: clock.monotonic() - started,
      });
    }
  }

  private report(info: RequestInfo): void {
    this.options.logger.debug(info, 'atlas request');
    this.options.onRequest?.(info);
  }

  private observeRateLimit(scope: string, headers: HttpHeaders): void {
    const limit = headerNumber(headers, 'ratelimit-limit');
    const remaining = headerNumber(headers, 'ratelimit-remaining');
    if (limit === undefined && remaining === undefined) return;
    // The most recent scopes only: a daemon works in thousands of projects over months, and one
    // entry kept for each it ever touched is never freed. Set anew, a scope moves to the end.
    this.observations.delete(scope);
    this.observations.set(scope, { scope, limit, remaining, observedAtMs: this.options.clock.now() });
    if (this.observations.size > maxRateLimitObservations) {
      const oldest = this.observations.keys().next().value;
      if (oldest !== undefined) this.observations.delete(oldest);
    }
  }

  private parseJson(request: AtlasRequest, exchanged: Exchange): unknown {
    try {
      return JSON.parse(exchanged.text);
    } catch {
      throw invalidResponseError(request.operation, 'not JSON', exchanged.status);
    }
  }

  private parseWith<T>(request: AtlasRequest, exchanged: Exchange, schema: z.ZodType<T>): T {
    const parsed = schema.safeParse(this.parseJson(request, exchanged));
    if (parsed.success) return parsed.data;
    throw invalidResponseError(request.operation, summarizeIssues(parsed.error), exchanged.status);
  }

  /** One odd item must not fail a whole page: it is dropped and logged by path and issue code. */
  private parseItems<T>(operation: OperationId, items: readonly unknown[], item: z.ZodType<T>): T[] {
    const kept: T[] = [];
    items.forEach((raw, index) => {
      const parsed = item.safeParse(raw);
      if (parsed.success) kept.push(parsed.data);
      else
        this.options.logger.warn(
          { operation, index, issues: summarizeIssues(parsed.error) },
          'atlas list item dropped',
        );
    });
    return kept;
  }
}

function buildUrl(baseUrl: string, path: string, query: QueryParams | undefined): string {
  const url = new URL(`${baseUrl}${apiPrefix}${path}`);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    // Atlas reads repeated names for arrays (`eventType=A&eventType=B`).
    if (Array.isArray(value))
      for (const item of value as readonly string[]) url.searchParams.append(name, item);
    else url.searchParams.append(name, String(value));
  }
  return url.toString();
}

function headerNumber(headers: HttpHeaders, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** Zod issues as paths and codes only: the received values may be data we must not log. */
function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
    .join('; ');
}

function bodySecrets(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || !('password' in body)) return [];
  return typeof body.password === 'string' ? [body.password] : [];
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[REDACTED]');
  return out;
}
