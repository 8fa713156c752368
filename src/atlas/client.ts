import type { BackoffPolicy } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import type { Fetch } from '../runtime/http.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import { createAuthSession } from './auth/auth-session.js';
import type { Authenticator } from './auth/authenticator.js';
import { createDigestAuthenticator } from './auth/digest.js';
import { createOAuthAuthenticator } from './auth/oauth.js';
import type { AtlasCredentials, CredentialSource } from './credentials.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { createBackupSnapshotsApi, type BackupSnapshotsApi } from './resources/backup-snapshots.js';
import {
  createClustersApi,
  createFlexClustersApi,
  type ClustersApi,
  type FlexClustersApi,
} from './resources/clusters.js';
import { createCustomDbRolesApi, type CustomDbRolesApi } from './resources/custom-db-roles.js';
import { createDatabaseUsersApi, type DatabaseUsersApi } from './resources/database-users.js';
import { createEventsApi, type EventsApi } from './resources/events.js';
import { createIdentityApi, type IdentityApi } from './resources/identity.js';
import { createOrgUsersApi, type OrgUsersApi } from './resources/org-users.js';
import { createOrganizationsApi, type OrganizationsApi } from './resources/organizations.js';
import { createProcessesApi, type ProcessesApi } from './resources/processes.js';
import { createProjectLimitsApi, type ProjectLimitsApi } from './resources/project-limits.js';
import { createProjectUsersApi, type ProjectUsersApi } from './resources/project-users.js';
import { createProjectsApi, type ProjectsApi } from './resources/projects.js';
import { createRateLimitsApi, type RateLimitsApi } from './resources/rate-limits.js';
import { rateScopeKey, type RateScope } from './operations.js';
import { createTeamsApi, type TeamsApi } from './resources/teams.js';
import {
  createTransport,
  type PacedInfo,
  type RateLimitObservation,
  type RequestInfo,
  type RetryInfo,
} from './transport.js';

export const defaultAtlasBaseUrl = 'https://cloud.mongodb.com';

/** Retry windows double from 1 s to a 60 s cap; a `Retry-After` raises the floor. */
export const defaultAtlasBackoff: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };

/**
 * How long one HTTP attempt may go unanswered (docs/atlas-client.md, "Timeouts"): Atlas answers in
 * well under 5 s, and its slowest calls in this client (a large page of events or users) in seconds.
 */
export const defaultAtlasAttemptTimeoutMs = 60_000;

export interface AtlasClientOptions {
  /** Defaults to https://cloud.mongodb.com; the sandbox simulator points it at loopback. */
  readonly baseUrl?: string;
  readonly credentials: CredentialSource;
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** e.g. `atlas-jit-connector/0.1.0`. */
  readonly userAgent: string;
  /** Retries after the first attempt, for idempotent operations only. Default 4. */
  readonly maxRetries?: number;
  /** How long one call keeps retrying 429s, for every operation (Atlas ran none of them). Default 120 s. */
  readonly rateLimitBudgetMs?: number;
  /** Client-side pace per organization / project. Default 300 requests per minute each (ATLAS_*_REQUESTS_PER_MINUTE). */
  readonly limits?: { readonly orgRequestsPerMinute: number; readonly projectRequestsPerMinute: number };
  /** Replaces the limiter built from `limits` (tests pass `unlimitedRateLimiter` or a fake). */
  readonly rateLimiter?: RateLimiter;
  readonly backoff?: BackoffPolicy;
  /** How long one HTTP attempt may take before it fails as a retryable `timeout`. Default 60 s. */
  readonly attemptTimeoutMs?: number;
  /** Called once per HTTP attempt, for metrics. */
  readonly onRequest?: (info: RequestInfo) => void;
  /** Called when a paced call leaves the pacer, with its time queued (metrics). */
  readonly onPaced?: (info: PacedInfo) => void;
  /** Called before each retry (metrics). */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Called with every OAuth access token minted, before its first use (the log scrubber). */
  readonly onSecret?: (value: string) => void;
  /** Called when revoking a replaced (or, on close, the current) OAuth token fails (metrics). */
  readonly onTokenRevokeFailed?: () => void;
  /**
   * Size each project's and organization's pace from `GET /rateLimits` the first time the client
   * works in it (in the background; the configured pace applies until the answer arrives).
   */
  readonly sizeRateLimitsFromApi?: boolean;
}

/** The Atlas Administration API v2, grouped by resource. Every method takes an optional signal. */
export interface AtlasClient {
  readonly identity: IdentityApi;
  readonly rateLimits: RateLimitsApi;
  readonly organizations: OrganizationsApi;
  readonly projects: ProjectsApi;
  readonly clusters: ClustersApi;
  readonly flexClusters: FlexClustersApi;
  readonly processes: ProcessesApi;
  readonly backupSnapshots: BackupSnapshotsApi;
  readonly databaseUsers: DatabaseUsersApi;
  readonly customDbRoles: CustomDbRolesApi;
  readonly projectLimits: ProjectLimitsApi;
  readonly orgUsers: OrgUsersApi;
  readonly projectUsers: ProjectUsersApi;
  readonly teams: TeamsApi;
  readonly events: EventsApi;
  /** The last `RateLimit-Limit` / `RateLimit-Remaining` seen per scope (1,000 most recent scopes). */
  rateLimitStatus(): readonly RateLimitObservation[];
  /** Revokes the OAuth token if one was minted; later calls fail as `cancelled`. Idempotent. */
  close(signal?: AbortSignal): Promise<void>;
}

export function createAtlasClient(options: AtlasClientOptions): AtlasClient {
  const baseUrl = (options.baseUrl ?? defaultAtlasBaseUrl).replace(/\/+$/, '');
  const logger = options.logger.child({ component: 'atlas-client' });
  const authenticatorFor = (credentials: AtlasCredentials): Authenticator =>
    credentials.type === 'api-key'
      ? createDigestAuthenticator(credentials, { fetch: options.fetch, random: options.random })
      : createOAuthAuthenticator(credentials, {
          baseUrl,
          fetch: options.fetch,
          clock: options.clock,
          userAgent: options.userAgent,
          logger,
          ...(options.onSecret ? { onSecret: options.onSecret } : {}),
          ...(options.onTokenRevokeFailed ? { onRevokeFailed: options.onTokenRevokeFailed } : {}),
        });
  const session = createAuthSession({
    credentials: options.credentials,
    authenticatorFor,
    logger,
    clock: options.clock,
  });
  const baseLimiter =
    options.rateLimiter ??
    createRateLimiter(options.limits ?? { orgRequestsPerMinute: 300, projectRequestsPerMinute: 300 });
  // The sizing hook reads `rateLimitsApi` (declared below) only once the client is in use.
  const limiter = options.sizeRateLimitsFromApi
    ? sizeOnFirstUse(
        baseLimiter,
        (scope) =>
          rateLimitsApi.sizeFromApi(scope.kind === 'project' ? { groupId: scope.id } : { orgId: scope.id }),
        logger,
      )
    : baseLimiter;
  const transport = createTransport({
    baseUrl,
    session,
    limiter,
    clock: options.clock,
    random: options.random,
    logger,
    userAgent: options.userAgent,
    maxRetries: options.maxRetries ?? 4,
    rateLimitBudgetMs: options.rateLimitBudgetMs ?? 120_000,
    backoff: options.backoff ?? defaultAtlasBackoff,
    attemptTimeoutMs: options.attemptTimeoutMs ?? defaultAtlasAttemptTimeoutMs,
    onRequest: options.onRequest,
    onPaced: options.onPaced,
    onRetry: options.onRetry,
  });

  const rateLimitsApi = createRateLimitsApi(transport, baseLimiter);
  return {
    identity: createIdentityApi(transport),
    rateLimits: rateLimitsApi,
    organizations: createOrganizationsApi(transport),
    projects: createProjectsApi(transport),
    clusters: createClustersApi(transport),
    flexClusters: createFlexClustersApi(transport),
    processes: createProcessesApi(transport),
    backupSnapshots: createBackupSnapshotsApi(transport),
    databaseUsers: createDatabaseUsersApi(transport),
    customDbRoles: createCustomDbRolesApi(transport),
    projectLimits: createProjectLimitsApi(transport),
    orgUsers: createOrgUsersApi(transport),
    projectUsers: createProjectUsersApi(transport),
    teams: createTeamsApi(transport),
    events: createEventsApi(transport),
    rateLimitStatus: () => transport.rateLimits(),
    close: (signal) => session.close(signal),
  };
}

/** Wraps a limiter so the first call in each scope also sizes that scope from Atlas, once. */
function sizeOnFirstUse(
  limiter: RateLimiter,
  size: (scope: RateScope) => Promise<unknown> | undefined,
  logger: Logger,
): RateLimiter {
  const sized = new Set<string>();
  return {
    schedule(scope, task, signal) {
      if (scope && !sized.has(rateScopeKey(scope))) {
        sized.add(rateScopeKey(scope));
        void Promise.resolve(size(scope)).then(
          (perMinute) =>
            logger.debug(
              { scope: rateScopeKey(scope), perMinute },
              'sized Atlas pacing from GET /rateLimits',
            ),
          (error: unknown) =>
            logger.warn(
              { err: error, scope: rateScopeKey(scope) },
              'could not size Atlas pacing from GET /rateLimits; keeping the configured pace',
            ),
        );
      }
      return limiter.schedule(scope, task, signal);
    },
    resize: (scope, perMinute) => limiter.resize(scope, perMinute),
  };
}
