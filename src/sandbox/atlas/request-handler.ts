import type { IncomingMessage, ServerResponse } from 'node:http';
import { controlPrefix, serveControl, type ControlDeps } from './control.js';
import { atlasError, type AtlasErrorCode } from './errors.js';
import { decideFault, latencyMs, type FaultDecision } from './faults.js';
import {
  clientAddress,
  errorResponse,
  headerValue,
  readBody,
  redactedHeaders,
  remoteIpv4,
  writeResponse,
  type SimResponse,
} from './http-io.js';
import { serveApi, type ApiDeps } from './pipeline.js';
import type { AtlasExchange } from './recorder.js';
import { apiPrefix } from './router.js';
import type { SimulatorStats } from './stats.js';
import { serveHookControl, type TestHooks } from './test-hooks.js';

export interface HandlerDeps {
  readonly deps: ApiDeps;
  readonly stats: SimulatorStats;
  readonly control: ControlDeps;
  readonly onExchange: ((exchange: AtlasExchange) => void) | undefined;
  /** Scripted failures and holds (the test surface, see test-hooks.ts). */
  readonly hooks: TestHooks;
}

interface Incoming {
  readonly req: IncomingMessage;
  readonly method: string;
  /** The request target exactly as sent (path and query). */
  readonly target: string;
  readonly url: URL;
  readonly body: string;
}

const faultCodes: Record<500 | 502 | 503 | 504, AtlasErrorCode> = {
  500: 'UNEXPECTED_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

function faultResponse(fault: Extract<FaultDecision, { kind: 'error' }>): SimResponse {
  return errorResponse(
    atlasError(faultCodes[fault.status]),
    fault.status === 503 ? { 'retry-after': '1' } : {},
  );
}

/** What the recorder keeps of a body: JSON parsed, OAuth form values masked. */
function recordedBody(text: string, path: string): unknown {
  if (text === '') return undefined;
  if (path.startsWith('/api/oauth/')) return text.replace(/token=[^&]*/g, 'token=[REDACTED]');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function maskTokens(body: unknown): unknown {
  if (typeof body === 'object' && body !== null && 'access_token' in body) {
    return { ...body, access_token: '[REDACTED]' };
  }
  return body;
}

function serve(deps: ApiDeps, incoming: Incoming): SimResponse {
  const { req, url, method, body } = incoming;
  const remoteAddress = remoteIpv4(req);
  if (url.pathname === '/api/oauth/token' || url.pathname === '/api/oauth/revoke') {
    return deps.oauth.handle({
      path: url.pathname,
      method,
      authorization: headerValue(req, 'authorization'),
      contentType: headerValue(req, 'content-type'),
      body,
      remoteAddress: remoteAddress ?? req.socket.remoteAddress ?? '',
    });
  }
  return serveApi(deps, {
    method,
    rawPath: url.pathname,
    target: incoming.target,
    query: url.searchParams,
    accept: headerValue(req, 'accept'),
    contentType: headerValue(req, 'content-type'),
    authorization: headerValue(req, 'authorization'),
    body,
    remoteAddress,
    clientAddress: clientAddress(req),
  });
}

/**
 * The HTTP front: control endpoints, then for Atlas/OAuth traffic fault injection, the pipeline,
 * latency on the injected clock, and finally stats and the exchange recorder.
 */
export function createRequestHandler(
  h: HandlerDeps,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const target = req.url ?? '/';
    const incoming: Incoming = {
      req,
      method: req.method ?? 'GET',
      target,
      url: new URL(target, 'http://simulator'),
      body: await readBody(req),
    };
    if (incoming.url.pathname.startsWith(controlPrefix)) {
      const { method, url, body } = incoming;
      const hooked = serveHookControl(h.hooks, method, url.pathname, body);
      writeResponse(res, hooked ?? serveControl(h.control, method, url.pathname, body));
      return;
    }
    await serveTraffic(h, incoming, res);
  };
}

async function serveTraffic(h: HandlerDeps, incoming: Incoming, res: ServerResponse): Promise<void> {
  const { deps } = h;
  const { clock, random, knobs } = deps.sim;
  const { pathname } = incoming.url;
  const route = deps.router.match(incoming.method, pathname)?.route;
  const isApi = pathname === apiPrefix || pathname.startsWith(`${apiPrefix}/`);
  if (isApi) await h.hooks.waitIfHeld(incoming.method, pathname, route?.operationId);
  const scripted = isApi ? h.hooks.takeFailure(incoming.method, route?.operationId) : undefined;
  const fault: FaultDecision =
    isApi && !scripted ? decideFault(knobs, random, route?.operationId) : { kind: 'none', extraDelayMs: 0 };
  const record = (status: number, response?: SimResponse): void =>
    recordExchange(h, incoming, route?.operationId, route?.path, status, response);
  if (fault.kind === 'reset') {
    incoming.req.socket.destroy();
    record(0);
    return;
  }
  const response = scripted ?? (fault.kind === 'error' ? faultResponse(fault) : serve(deps, incoming));
  const delay = latencyMs(knobs, random) + fault.extraDelayMs;
  if (delay > 0) await clock.sleep(delay);
  if (fault.kind === 'resetAfterCommit') {
    incoming.req.socket.destroy();
    record(0);
    return;
  }
  writeResponse(res, response);
  record(response.status, response);
}

function recordExchange(
  h: HandlerDeps,
  incoming: Incoming,
  operationId: string | undefined,
  routePath: string | undefined,
  status: number,
  response?: SimResponse,
): void {
  const { method, url } = incoming;
  const routeKey =
    routePath !== undefined
      ? `${method} ${apiPrefix}${routePath}`
      : `${method} ${url.pathname.startsWith('/api/oauth/') ? url.pathname : '(unmatched)'}`;
  h.stats.record(routeKey, status === 0 ? 'reset' : status);
  h.onExchange?.({
    method,
    url: incoming.target,
    ...(operationId !== undefined ? { operationId } : {}),
    requestHeaders: redactedHeaders(incoming.req),
    requestBody: recordedBody(incoming.body, url.pathname),
    status,
    responseHeaders: response?.headers ?? {},
    responseBody: maskTokens(response?.body),
  });
}
