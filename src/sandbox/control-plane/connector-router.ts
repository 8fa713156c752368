import type { IncomingMessage, ServerResponse } from 'node:http';
import { isConnectorError, toConnectorError } from '../../errors/connector-error.js';
import { headers, protocolVersion } from '../../control-plane/protocol.js';
import { claimRoute } from './claim-route.js';
import type { ControlPlaneCore } from './core.js';
import { bearerToken, headerValue, sendEmpty, sendError, sendJson } from './http-io.js';
import { jobRoutes } from './job-routes.js';
import { protocolAnswerOf, protocolError } from './protocol-errors.js';
import type { Answer, ConnectorRoute, RouteContext } from './route-types.js';
import type { SessionRecord } from './session-store.js';
import { sessionRoutes } from './session-routes.js';
import { snapshotRoutes } from './snapshot-routes.js';

const routes: readonly ConnectorRoute[] = [...sessionRoutes, claimRoute, ...jobRoutes, ...snapshotRoutes];

/** Serves one request below `/connector/v1`; `path` is the part after that prefix. */
export async function handleConnectorRequest(
  core: ControlPlaneCore,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const receivedAt = new Date(core.clock.now()).toISOString();
  try {
    const { route, params } = matchRoute(req.method ?? 'GET', path);
    core.requestCounts.set(route.name, (core.requestCounts.get(route.name) ?? 0) + 1);
    const fault = core.faults.decide(route.name);
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    const delayMs = core.faults.delayFor(route.name);
    if (delayMs > 0) await core.clock.sleep(delayMs);
    if (fault.kind === 'error') {
      sendError(res, { status: 503, code: 'unavailable', message: 'injected fault' }, { 'retry-after': '1' });
      return;
    }
    checkProtocolVersion(req);
    const answer = await invoke(route, { core, req, res, params, receivedAt });
    if (answer) {
      if (answer.body === undefined) sendEmpty(res, answer.status);
      else sendJson(res, answer.status, answer.body);
    }
  } catch (caught) {
    sendFailure(core, res, caught);
  }
}

function matchRoute(method: string, path: string): { route: ConnectorRoute; params: string[] } {
  let pathMatched = false;
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    try {
      return { route, params: match.slice(1).map((segment) => decodeURIComponent(segment)) };
    } catch {
      throw protocolError('invalid_request', 'path: malformed percent-encoding');
    }
  }
  if (pathMatched) throw protocolError('invalid_request', `method ${method} is not allowed here`, 405);
  throw protocolError('not_found', `no protocol route ${method} ${path}`);
}

/** A client speaking another protocol version is told so rather than misunderstood. */
function checkProtocolVersion(req: IncomingMessage): void {
  const version = headerValue(req, headers.protocol);
  if (version !== undefined && version.trim() !== String(protocolVersion)) {
    throw protocolError(
      'invalid_request',
      `${headers.protocol}: this server speaks protocol ${protocolVersion}`,
    );
  }
}

function invoke(route: ConnectorRoute, ctx: RouteContext): Promise<Answer> {
  if (route.auth === 'enrollment') return route.handle(ctx);
  const session = authenticate(route.auth, ctx);
  // What the silence before this request made true (a session declared dead) is applied first.
  ctx.core.jobs.tick();
  ctx.core.sessions.touch(session);
  return route.handle({ ...ctx, session });
}

function authenticate(mode: 'sessionPath' | 'session', ctx: RouteContext): SessionRecord {
  const { sessions } = ctx.core;
  const authenticated = sessions.authenticate(bearerToken(ctx.req));
  if (mode === 'sessionPath') {
    const [sessionId = ''] = ctx.params;
    const session = sessions.get(sessionId);
    if (!session || session.deregisteredAt !== null) {
      throw protocolError('session_unknown', `session ${sessionId} is not registered`);
    }
    if (authenticated !== session)
      throw protocolError('unauthorized', 'Authorization: not a live token of this session');
    return session;
  }
  if (!authenticated) throw protocolError('unauthorized', 'Authorization: not a live session token');
  return authenticated;
}

function sendFailure(core: ControlPlaneCore, res: ServerResponse, caught: unknown): void {
  const answer = isConnectorError(caught) ? protocolAnswerOf(caught) : undefined;
  if (answer) {
    sendError(res, answer, answer.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    return;
  }
  core.logger.error({ err: toConnectorError(caught) }, 'reference control plane handler failed');
  sendError(res, {
    status: 500,
    code: 'unavailable',
    message: 'internal error in the reference control plane',
  });
}
