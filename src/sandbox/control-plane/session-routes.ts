import {
  HeartbeatRequest,
  RegisterRequest,
  type IntegrationsResponse,
  type RegisterResponse,
} from '../../control-plane/protocol.js';
import { bearerToken, parseJson, readBody } from './http-io.js';
import { protocolError } from './protocol-errors.js';
import {
  maxJsonBodyBytes,
  type ConnectorRoute,
  type RouteContext,
  type SessionContext,
} from './route-types.js';

async function register(ctx: RouteContext): Promise<{ status: number; body: RegisterResponse }> {
  const { core } = ctx;
  if (!core.sessions.isEnrollmentToken(bearerToken(ctx.req))) {
    throw protocolError('unauthorized', 'Authorization: not a valid enrollment token');
  }
  const request = parseJson(RegisterRequest, await readBody(ctx.req, maxJsonBodyBytes));
  const { session, token } = core.sessions.register(request);
  core.logger.info(
    { sessionId: session.sessionId, connectorId: request.connectorId, instanceId: request.instanceId },
    'connector registered',
  );
  return {
    status: 201,
    body: {
      sessionId: session.sessionId,
      accessToken: token.accessToken,
      expiresInMs: token.expiresInMs,
      intervals: { ...core.settings.intervals },
      limits: { maxPayloadBytes: core.settings.maxPayloadBytes },
      serverTime: new Date(core.clock.now()).toISOString(),
    },
  };
}

/**
 * The integrations a connector serves, for `doctor` to check without registering a session. The
 * reference control plane has one set of integrations for every connector id.
 */
async function listIntegrations(ctx: RouteContext): Promise<{ status: number; body: IntegrationsResponse }> {
  if (!ctx.core.sessions.isEnrollmentToken(bearerToken(ctx.req))) {
    throw protocolError('unauthorized', 'Authorization: not a valid enrollment token');
  }
  return { status: 200, body: { integrations: ctx.core.jobs.allIntegrations() } };
}

async function refreshToken(ctx: SessionContext): Promise<{ status: number; body: unknown }> {
  // The body is `{}` by contract; it is read (and bounded) but carries nothing.
  await readBody(ctx.req, maxJsonBodyBytes);
  return { status: 200, body: ctx.core.sessions.refresh(ctx.session) };
}

async function heartbeat(ctx: SessionContext): Promise<{ status: number; body: unknown }> {
  const { core, session } = ctx;
  const request = parseJson(HeartbeatRequest, await readBody(ctx.req, maxJsonBodyBytes));
  core.jobs.tick();
  // Leases are not bound to sessions (§3.6): a lease claimed under an earlier session of this
  // connector (before it had to register again) is still current, and must not be released.
  const body = core.sessions.heartbeat(session, request, ctx.receivedAt, (lease) => {
    const job = core.jobs.record(lease.jobId);
    return job?.lease?.leaseId === lease.leaseId;
  });
  if (request.state === 'draining' || request.state === 'paused') {
    core.waiters.endWhere((waiter) => waiter.sessionId === session.sessionId);
  }
  return { status: 200, body };
}

async function deregister(ctx: SessionContext): Promise<{ status: number }> {
  const { core, session } = ctx;
  await readBody(ctx.req, maxJsonBodyBytes);
  const released = core.jobs.releaseSession(session.sessionId);
  core.waiters.endWhere((waiter) => waiter.sessionId === session.sessionId);
  core.sessions.deregister(session);
  core.logger.info({ sessionId: session.sessionId, released }, 'connector deregistered');
  return { status: 204 };
}

export const sessionRoutes: readonly ConnectorRoute[] = [
  {
    name: 'register',
    method: 'POST',
    pattern: /^\/connectors\/register$/,
    auth: 'enrollment',
    handle: register,
  },
  {
    name: 'integrations',
    method: 'GET',
    pattern: /^\/connectors\/([^/]+)\/integrations$/,
    auth: 'enrollment',
    handle: listIntegrations,
  },
  {
    name: 'refreshToken',
    method: 'POST',
    pattern: /^\/sessions\/([^/]+)\/token:refresh$/,
    auth: 'sessionPath',
    handle: refreshToken,
  },
  {
    name: 'heartbeat',
    method: 'POST',
    pattern: /^\/sessions\/([^/]+)\/heartbeat$/,
    auth: 'sessionPath',
    handle: heartbeat,
  },
  {
    name: 'deregister',
    method: 'DELETE',
    pattern: /^\/sessions\/([^/]+)$/,
    auth: 'sessionPath',
    handle: deregister,
  },
];
