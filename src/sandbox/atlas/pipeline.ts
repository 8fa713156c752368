import { authorize } from './authz.js';
import type { RouteDef, SimContext } from './context.js';
import type { DigestAuthenticator } from './digest-auth.js';
import { AtlasHttpError, atlasError } from './errors.js';
import { errorResponse, type SimResponse } from './http-io.js';
import { isObjectId } from './ids.js';
import type { CredentialRec } from './model.js';
import type { OAuthServer } from './oauth.js';
import type { TokenBuckets } from './rate-limit.js';
import type { Router } from './router.js';
import type { Actor } from './state.js';
import { checkContentType, negotiateVersion, versionedMediaType } from './versioning.js';

export interface ApiDeps {
  readonly sim: SimContext;
  readonly router: Router;
  readonly digest: DigestAuthenticator;
  readonly oauth: OAuthServer;
  readonly buckets: TokenBuckets;
}

export interface ApiRequest {
  readonly method: string;
  /** Pathname, still percent-encoded. */
  readonly rawPath: string;
  /** The request target exactly as sent (Digest signs it). */
  readonly target: string;
  readonly query: URLSearchParams;
  readonly accept: string | undefined;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
  readonly remoteAddress: string | undefined;
  /** The client's address for per-IP limits (`clientAddress` in http-io). */
  readonly clientAddress: string;
}

type Authenticated = { readonly actor: Actor } | { readonly response: SimResponse };

function unauthorized(deps: ApiDeps, stale: boolean): SimResponse {
  return errorResponse(atlasError('UNAUTHORIZED'), { 'www-authenticate': deps.digest.challenge(stale) });
}

function authenticate(deps: ApiDeps, req: ApiRequest): Authenticated {
  const header = req.authorization ?? '';
  const lookup = (name: string): CredentialRec | undefined =>
    deps.sim.state.credentials.find((c) => c.name === name);
  let credential: CredentialRec | undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer !== undefined) {
    credential = deps.oauth.verifyBearer(bearer);
  } else if (/^Digest\s/i.test(header)) {
    const outcome = deps.digest.verify(header, req.method, req.target, lookup);
    if (!outcome.ok) return { response: unauthorized(deps, outcome.stale) };
    credential = outcome.credential;
  }
  if (!credential) return { response: unauthorized(deps, false) };
  return {
    actor: {
      credential,
      clientAddress: req.clientAddress,
      ...(req.remoteAddress !== undefined ? { remoteAddress: req.remoteAddress } : {}),
    },
  };
}

/** Checks the org/project in the path exist; returns the scope used for authorization and buckets. */
function resolveScope(sim: SimContext, params: Record<string, string>): { orgId?: string; groupId?: string } {
  const { groupId, orgId } = params;
  if (groupId !== undefined) {
    if (!isObjectId(groupId)) throw atlasError('INVALID_GROUP_ID', groupId);
    const project = sim.state.project(groupId);
    if (!project) throw atlasError('GROUP_NOT_FOUND', groupId);
    return { groupId, orgId: project.orgId };
  }
  if (orgId !== undefined) {
    if (!isObjectId(orgId)) throw atlasError('INVALID_ORG_ID', orgId);
    if (!sim.state.orgs.has(orgId)) throw atlasError('ORG_NOT_FOUND', orgId);
    return { orgId };
  }
  return {};
}

/** Takes a token from the route's bucket; returns the headers every scoped response carries. */
function rateLimit(
  deps: ApiDeps,
  rawPath: string,
  scope: { orgId?: string; groupId?: string },
): Record<string, string> {
  const { knobs } = deps.sim;
  if (!knobs.rateLimit.enabled || (scope.groupId === undefined && scope.orgId === undefined)) return {};
  const [key, spec] =
    scope.groupId !== undefined
      ? [`group:${scope.groupId}`, knobs.rateLimit.project]
      : [`org:${scope.orgId ?? ''}`, knobs.rateLimit.organization];
  const taken = deps.buckets.take(key, spec, deps.sim.clock.now());
  const headers = {
    'ratelimit-limit': String(spec.capacity),
    'ratelimit-remaining': String(taken.remaining),
  };
  if (!taken.allowed) {
    const path = rawPath.replace(/^\//, '');
    throw atlasError(
      'RATE_LIMITED_TOKEN_BUCKET',
      path,
      taken.retryAfterSeconds,
      spec.capacity,
      spec.refillAmount,
      spec.refillIntervalSeconds,
    ).withHeaders({ ...headers, 'retry-after': String(taken.retryAfterSeconds) });
  }
  return headers;
}

function parseJson(route: RouteDef, req: ApiRequest, version: string): unknown {
  if (!route.hasBody || req.body.trim() === '') return undefined;
  checkContentType(req.contentType, route, version);
  try {
    return JSON.parse(req.body) as unknown;
  } catch {
    throw atlasError('MALFORMED_JSON');
  }
}

/**
 * Serves one Atlas Administration API request in Atlas's order: authenticate, match, negotiate the
 * media type, check the body's type, resolve the org/project, authorize, rate-limit, then run the
 * operation. Each step can end the request with Atlas's error envelope.
 */
export function serveApi(deps: ApiDeps, req: ApiRequest): SimResponse {
  const auth = authenticate(deps, req);
  if ('response' in auth) return auth.response;
  const { sim } = deps;
  const now = sim.clock.now();
  sim.state.sweepExpired(now);
  let rateHeaders: Record<string, string> = {};
  try {
    const match = deps.router.match(req.method, req.rawPath);
    if (!match) throw atlasError('RESOURCE_NOT_FOUND', req.rawPath);
    const version = negotiateVersion(req.accept, match.route, now);
    const body = parseJson(match.route, req, version);
    const scope = resolveScope(sim, match.params);
    authorize(sim.state, auth.actor.credential, match.route.access, scope);
    rateHeaders = rateLimit(deps, req.rawPath, scope);
    const result = match.route.handler({
      sim,
      route: match.route,
      params: match.params,
      query: req.query,
      rawPath: req.rawPath,
      body,
      version,
      actor: auth.actor,
      now,
    });
    const typed: Record<string, string> =
      result.body === undefined ? {} : { 'content-type': versionedMediaType(version) };
    return { status: result.status, headers: { ...rateHeaders, ...typed }, body: result.body };
  } catch (error) {
    if (error instanceof AtlasHttpError) return errorResponse(error, rateHeaders);
    throw error;
  }
}
