import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isConnectorError, toConnectorError } from '../../errors/connector-error.js';
import { HeartbeatAction, Intervals, JobState } from '../../control-plane/protocol.js';
import type { ReferenceControlPlaneStore } from './control-plane-store.js';
import { FaultSettings, type FaultInjector } from './faults.js';
import { parseJson, parseValue, readBody, sendEmpty, sendError, sendJson } from './http-io.js';
import { protocolAnswerOf, protocolError } from './protocol-errors.js';
import type { Answer } from './route-types.js';
import type { Logger } from '../../runtime/logger.js';

const maxAdminBodyBytes = 16 * 1024 * 1024;

// Strict objects: a misspelt key (integrationID) is a 400 naming it, not a silently ignored field.
const IntegrationBody = z.strictObject({
  kind: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  secretRef: z.string().min(1),
});

const NewJobBody = z.strictObject({
  type: z.string().min(1),
  integrationId: z.string().min(1).optional(),
  resourceKey: z.string().min(1).optional(),
  payload: z.unknown().optional(),
  payloadRaw: z.string().optional(),
  notAfterMs: z.number().int().positive().optional(),
  maxAttempts: z.number().int().positive().optional(),
  connectorId: z.string().min(1).optional(),
});

const ActionBody = z.strictObject({ action: HeartbeatAction });

export interface AdminDeps {
  readonly store: ReferenceControlPlaneStore;
  readonly faults: Pick<FaultInjector, 'set' | 'clear' | 'current'>;
  readonly logger: Logger;
}

interface AdminContext extends AdminDeps {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: readonly string[];
}

interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly pattern: RegExp;
  handle(ctx: AdminContext): Promise<Answer>;
}

async function body(ctx: AdminContext): Promise<Buffer> {
  return readBody(ctx.req, maxAdminBodyBytes);
}

function param(ctx: AdminContext): string {
  return ctx.params[0] ?? '';
}

const routes: readonly AdminRoute[] = [
  { method: 'GET', pattern: /^\/health$/, handle: async () => ({ status: 200, body: { status: 'ok' } }) },
  {
    method: 'PUT',
    pattern: /^\/integrations\/([^/]+)$/,
    handle: async (ctx) => {
      const integration = { id: param(ctx), ...parseJson(IntegrationBody, await body(ctx)) };
      ctx.store.putIntegration(integration);
      return { status: 200, body: integration };
    },
  },
  {
    method: 'POST',
    pattern: /^\/jobs$/,
    handle: async (ctx) => ({
      status: 201,
      body: { jobId: ctx.store.enqueueJob(parseJson(NewJobBody, await body(ctx))) },
    }),
  },
  {
    method: 'GET',
    pattern: /^\/jobs$/,
    handle: async (ctx) => {
      const stateText = ctx.url.searchParams.get('state');
      const state = stateText === null ? undefined : parseValue(JobState, stateText, 'state');
      return { status: 200, body: { jobs: ctx.store.jobs(state) } };
    },
  },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/:]+)$/,
    handle: async (ctx) => {
      const job = ctx.store.job(param(ctx));
      if (!job) throw protocolError('not_found', `job ${param(ctx)} does not exist`);
      return { status: 200, body: job };
    },
  },
  {
    method: 'POST',
    pattern: /^\/jobs\/([^/:]+):cancel$/,
    handle: async (ctx) => ({ status: 200, body: ctx.store.cancelJob(param(ctx)) }),
  },
  {
    method: 'POST',
    pattern: /^\/jobs\/([^/:]+):requestRelease$/,
    handle: async (ctx) => ({ status: 200, body: ctx.store.requestLeaseRelease(param(ctx)) }),
  },
  {
    method: 'GET',
    pattern: /^\/sessions$/,
    handle: async (ctx) => ({ status: 200, body: { sessions: ctx.store.sessions() } }),
  },
  {
    method: 'POST',
    pattern: /^\/sessions\/([^/]+)\/actions$/,
    handle: async (ctx) => {
      const { action } = parseJson(ActionBody, await body(ctx));
      ctx.store.queueAction(param(ctx), action);
      return { status: 200, body: { sessionId: param(ctx), queued: action } };
    },
  },
  {
    method: 'GET',
    pattern: /^\/snapshots$/,
    handle: async (ctx) => {
      const integrationId = ctx.url.searchParams.get('integrationId') ?? undefined;
      return { status: 200, body: { snapshots: ctx.store.snapshots(integrationId) } };
    },
  },
  {
    method: 'GET',
    pattern: /^\/integrations\/([^/]+)\/grants$/,
    handle: async (ctx) => ({ status: 200, body: { grants: ctx.store.grants(param(ctx)) } }),
  },
  {
    method: 'PUT',
    pattern: /^\/intervals$/,
    handle: async (ctx) => ({
      status: 200,
      body: { intervals: ctx.store.setIntervals(parseJson(Intervals.partial().strict(), await body(ctx))) },
    }),
  },
  {
    method: 'GET',
    pattern: /^\/requests$/,
    handle: async (ctx) => ({ status: 200, body: { counts: ctx.store.requestCounts() } }),
  },
  {
    method: 'GET',
    pattern: /^\/faults$/,
    handle: async (ctx) => ({ status: 200, body: ctx.faults.current() }),
  },
  {
    method: 'POST',
    pattern: /^\/faults$/,
    handle: async (ctx) => {
      ctx.faults.set(parseJson(FaultSettings, await body(ctx)));
      return { status: 200, body: ctx.faults.current() };
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/faults$/,
    handle: async (ctx) => {
      ctx.faults.clear();
      return { status: 204 };
    },
  },
];

/**
 * The admin API below `/admin`: no authentication (it is bound to loopback by default), never
 * subject to injected faults, errors in the protocol's `{error:{code,message}}` shape.
 */
export async function handleAdminRequest(
  deps: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  path: string,
): Promise<void> {
  try {
    const { route, params } = matchAdminRoute(req.method ?? 'GET', path);
    const answer = await route.handle({ ...deps, req, url, params });
    if (!answer) return;
    if (answer.body === undefined) sendEmpty(res, answer.status);
    else sendJson(res, answer.status, answer.body);
  } catch (caught) {
    const answer = isConnectorError(caught) ? protocolAnswerOf(caught) : undefined;
    if (answer) {
      sendError(res, answer);
      return;
    }
    deps.logger.error({ err: toConnectorError(caught) }, 'reference control plane admin handler failed');
    sendError(res, { status: 500, code: 'unavailable', message: 'internal error in the admin API' });
  }
}

function matchAdminRoute(method: string, path: string): { route: AdminRoute; params: string[] } {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match || route.method !== method) continue;
    try {
      return { route, params: match.slice(1).map((segment) => decodeURIComponent(segment)) };
    } catch {
      throw protocolError('invalid_request', 'path: malformed percent-encoding');
    }
  }
  throw protocolError('not_found', `no admin route ${method} ${path}`);
}
