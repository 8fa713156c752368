import {
  ExtendRequest,
  headers,
  IntentRequest,
  ReleaseRequest,
  ResultRequest,
} from '../../control-plane/protocol.js';
import { canonicalJson } from './canonical-json.js';
import { headerValue, jsonValue, parseJson, parseValue, readBody } from './http-io.js';
import { acceptResult } from './job-results.js';
import { protocolError } from './protocol-errors.js';
import { maxJsonBodyBytes, type Answer, type ConnectorRoute, type SessionContext } from './route-types.js';

async function extend(ctx: SessionContext): Promise<Answer> {
  const [jobId = ''] = ctx.params;
  const fence = parseJson(ExtendRequest, await readBody(ctx.req, maxJsonBodyBytes));
  return { status: 200, body: ctx.core.jobs.extend(jobId, fence) };
}

async function release(ctx: SessionContext): Promise<Answer> {
  const [jobId = ''] = ctx.params;
  const request = parseJson(ReleaseRequest, await readBody(ctx.req, maxJsonBodyBytes));
  ctx.core.jobs.release(jobId, request);
  ctx.core.logger.info({ jobId, reason: request.reason, sessionId: ctx.session.sessionId }, 'lease released');
  return { status: 204 };
}

function attemptOf(text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text))
    throw protocolError('invalid_request', 'attempt: must be a positive integer');
  return Number(text);
}

async function intent(ctx: SessionContext): Promise<Answer> {
  const [jobId = '', attemptText = ''] = ctx.params;
  const attempt = attemptOf(attemptText);
  const request = parseJson(IntentRequest, await readBody(ctx.req, maxJsonBodyBytes));
  if (request.intent === undefined) throw protocolError('invalid_request', 'intent: required');
  ctx.core.jobs.recordIntent(jobId, attempt, request, request.intent);
  ctx.core.logger.info({ jobId, attempt }, 'intent recorded');
  return { status: 200, body: { recorded: true } };
}

async function result(ctx: SessionContext): Promise<Answer> {
  const [jobId = '', attemptText = ''] = ctx.params;
  const attempt = attemptOf(attemptText);
  const value = jsonValue(await readBody(ctx.req, maxJsonBodyBytes));
  const body = parseValue(ResultRequest, value, 'body');
  const response = acceptResult(ctx.core.jobs, ctx.core.clock, {
    jobId,
    attempt,
    idempotencyKey: headerValue(ctx.req, headers.idempotencyKey),
    body,
    canonical: canonicalJson(value),
  });
  ctx.core.logger.info(
    { jobId, attempt, outcome: body.outcome, jobState: response.jobState },
    'result accepted',
  );
  return { status: 200, body: response };
}

export const jobRoutes: readonly ConnectorRoute[] = [
  {
    name: 'extend',
    method: 'POST',
    pattern: /^\/jobs\/([^/]+)\/lease:extend$/,
    auth: 'session',
    handle: extend,
  },
  {
    name: 'release',
    method: 'POST',
    pattern: /^\/jobs\/([^/]+)\/lease:release$/,
    auth: 'session',
    handle: release,
  },
  {
    name: 'intent',
    method: 'PUT',
    pattern: /^\/jobs\/([^/]+)\/attempts\/([^/]+)\/intent$/,
    auth: 'session',
    handle: intent,
  },
  {
    name: 'result',
    method: 'PUT',
    pattern: /^\/jobs\/([^/]+)\/attempts\/([^/]+)\/result$/,
    auth: 'session',
    handle: result,
  },
];
