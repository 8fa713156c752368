import { atlasError, isAtlasErrorCode, type AtlasErrorCode } from './errors.js';
import { errorResponse, type SimResponse } from './http-io.js';

/**
 * Which API requests a test hook applies to: by HTTP method and/or spec `operationId`
 * (e.g. `createDatabaseUser`); an omitted field matches anything.
 */
export interface HookMatch {
  readonly method?: string;
  readonly operationId?: string;
}

/** A scripted Atlas refusal: the next `times` matching requests get `errorCode` (status from Atlas's table). */
export interface ScriptedFailure extends HookMatch {
  readonly errorCode: AtlasErrorCode;
  readonly times?: number;
}

/**
 * A scripted answer: the next `times` matching requests get this status and JSON body instead of
 * being served (the body must be one Atlas could send — e.g. a cluster whose change status lags
 * behind its project's, `{"changeStatus": "PENDING"}`).
 */
export interface ScriptedAnswer extends HookMatch {
  readonly status: number;
  readonly body?: unknown;
  readonly times?: number;
}

interface Held {
  readonly label: string;
  readonly release: () => void;
}

const matches = (match: HookMatch, method: string, operationId: string | undefined): boolean =>
  (match.method === undefined || match.method.toUpperCase() === method.toUpperCase()) &&
  (match.operationId === undefined || match.operationId === operationId);

/**
 * The simulator's test surface (not part of Atlas): scripted failures carrying an Atlas
 * `errorCode`, scoped by method/operation, and holds that stall a matching request until a test
 * releases it (to observe what a client does while a call is in flight). Reset clears both.
 */
export class TestHooks {
  private readonly failures: { match: ScriptedFailure | ScriptedAnswer; left: number }[] = [];
  private readonly holds: { match: HookMatch; left: number }[] = [];
  private readonly heldNow: Held[] = [];

  /** `operationIds`: every operation the simulator serves, so a misspelt one fails loudly. */
  constructor(private readonly operationIds: ReadonlySet<string>) {}

  private check(match: HookMatch): void {
    if (match.operationId !== undefined && !this.operationIds.has(match.operationId))
      throw new Error(`operationId: the simulator serves no operation ${match.operationId}`);
  }

  failNext(failure: ScriptedFailure): void {
    this.check(failure);
    if (!isAtlasErrorCode(failure.errorCode))
      throw new Error(`errorCode: unknown Atlas error code ${String(failure.errorCode)}`);
    this.failures.push({ match: failure, left: failure.times ?? 1 });
  }

  answerNext(answer: ScriptedAnswer): void {
    this.check(answer);
    if (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599)
      throw new Error(`status: must be an HTTP status, not ${String(answer.status)}`);
    this.failures.push({ match: answer, left: answer.times ?? 1 });
  }

  /** The scripted refusal or answer for this request, if one matches (consumed). */
  takeFailure(method: string, operationId: string | undefined): SimResponse | undefined {
    const index = this.failures.findIndex((f) => matches(f.match, method, operationId));
    const entry = this.failures[index];
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.failures.splice(index, 1);
    const { match } = entry;
    if ('errorCode' in match) return errorResponse(atlasError(match.errorCode));
    return match.body === undefined
      ? { status: match.status, headers: {} }
      : { status: match.status, headers: { 'content-type': 'application/json' }, body: match.body };
  }

  /** The next `times` matching requests wait (before they are served) until `release()`. */
  holdNext(match: HookMatch, times = 1): void {
    this.check(match);
    this.holds.push({ match, left: times });
  }

  /** Resolves at once unless a hold matches; then when the test releases it. */
  waitIfHeld(method: string, path: string, operationId: string | undefined): Promise<void> {
    const index = this.holds.findIndex((h) => matches(h.match, method, operationId));
    const entry = this.holds[index];
    if (!entry) return Promise.resolve();
    entry.left -= 1;
    if (entry.left <= 0) this.holds.splice(index, 1);
    return new Promise((resolve) => {
      this.heldNow.push({ label: `${method} ${path}`, release: resolve });
    });
  }

  /** The requests stalled right now, as `METHOD path`. */
  held(): string[] {
    return this.heldNow.map((h) => h.label);
  }

  /** Lets every stalled request go on; returns how many. */
  release(): number {
    const released = this.heldNow.splice(0);
    released.forEach((h) => h.release());
    return released.length;
  }

  reset(): void {
    this.failures.length = 0;
    this.holds.length = 0;
    this.release();
  }
}

export const hooksPrefix = '/__sim/';

const json = (status: number, body: unknown): SimResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body,
});

function parseBody(body: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(body === '' ? '{}' : body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function matchFrom(body: Record<string, unknown>): HookMatch | string {
  const { method, operationId } = body;
  if (method !== undefined && typeof method !== 'string') return 'method: must be a string';
  if (operationId !== undefined && typeof operationId !== 'string') return 'operationId: must be a string';
  return { ...(method ? { method } : {}), ...(operationId ? { operationId } : {}) };
}

function timesFrom(body: Record<string, unknown>): number | string {
  const { times = 1 } = body;
  return typeof times === 'number' && Number.isInteger(times) && times >= 1
    ? times
    : 'times: must be an integer ≥ 1';
}

/**
 * `POST /__sim/fail` `{method?, operationId?, errorCode, times?}`, `POST /__sim/answer`
 * `{method?, operationId?, status, body?, times?}`, `POST /__sim/hold`
 * `{method?, operationId?, times?}`, `GET /__sim/held`, `POST /__sim/release`; undefined for
 * any other control path.
 */
export function serveHookControl(
  hooks: TestHooks,
  method: string,
  path: string,
  rawBody: string,
): SimResponse | undefined {
  const action = `${method} ${path.slice(hooksPrefix.length).replace(/\/$/, '')}`;
  if (action === 'GET held') return json(200, { held: hooks.held() });
  if (action === 'POST release') return json(200, { released: hooks.release() });
  if (action !== 'POST fail' && action !== 'POST hold' && action !== 'POST answer') return undefined;
  const body = parseBody(rawBody);
  if (!body) return json(400, { error: 'body must be a JSON object' });
  const match = matchFrom(body);
  const times = timesFrom(body);
  if (typeof match === 'string') return json(400, { error: match });
  if (typeof times === 'string') return json(400, { error: times });
  const { errorCode } = body;
  try {
    if (action === 'POST hold') hooks.holdNext(match, times);
    else if (action === 'POST answer')
      hooks.answerNext({ ...match, status: body['status'] as number, body: body['body'], times });
    else if (typeof errorCode !== 'string' || !isAtlasErrorCode(errorCode))
      return json(400, { error: 'errorCode: must be an Atlas error code the simulator knows' });
    else hooks.failNext({ ...match, errorCode, times });
  } catch (error) {
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
  return { status: 204, headers: {} };
}
