import { z } from 'zod';
import { enrollmentTokenProblem } from './enrollment-token.js';
import { ConnectorError } from '../errors/connector-error.js';
import { parseDurationMs } from './duration.js';
import { connectorIdSchema } from './connector-id.js';
import { orgRoles } from '../adapters/atlas-org-portal/roles.js';
import { jobOperations } from '../adapters/adapter.js';

/** A variable set to nothing (or blanks) counts as unset, so its default applies, not 0. */
export const blankIsUnset = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
/** A whole number in [min, max]; every way to miss (not a number, a fraction, out of range) says so. */
const wholeNumber = (min: number, max: number, message = `must be a whole number from ${min} to ${max}`) =>
  z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message });
const port = wholeNumber(0, 65_535, 'must be a port number from 0 to 65535');
const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(blankIsUnset, wholeNumber(min, max).default(fallback));
export const portOr = (fallback: number) => z.preprocess(blankIsUnset, port.default(fallback));
const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );
const bool = z.preprocess(
  blankIsUnset,
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
);
const duration = (fallback: string) =>
  z.preprocess(
    blankIsUnset,
    z
      .string()
      .default(fallback)
      .transform((text, ctx) => {
        const ms = parseDurationMs(text);
        if (ms === undefined || ms <= 0) {
          ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 90s, 30m, 8h or 7d` });
          return z.NEVER;
        }
        return ms;
      }),
  );
/** Every job type the daemon runs: any other name in POLICY_ALLOWED_JOB_TYPES is a typo. */
const jobTypes = ['ping', ...jobOperations] as const;

/** A forward proxy: `proxy.corp:3128` without a scheme would be read as a scheme with no host. */
const proxyUrl = z.preprocess(
  blankIsUnset,
  z
    .url({
      protocol: /^https?$/,
      message: 'must be an absolute http:// or https:// URL, such as http://proxy.example.com:3128',
    })
    .optional(),
);
const optionalUrl = z.preprocess(blankIsUnset, z.url({ message: 'must be an absolute URL' }).optional());

/**
 * Every environment variable the daemon reads. `.env.example` documents each one; a test keeps
 * the two in step.
 */
/** A text variable set to nothing (`X=` in an env file) is unset, as for the numeric ones. */
const optionalText = z.preprocess(blankIsUnset, z.string().optional());

export const EnvSchema = z.object({
  CONTROL_PLANE_URL: optionalUrl,
  CONTROL_PLANE_TOKEN: optionalText,
  CONTROL_PLANE_TOKEN_FILE: optionalText,
  CONNECTOR_ID: z.preprocess(blankIsUnset, connectorIdSchema.optional()),
  MAX_CONCURRENT_JOBS: integer(1, 64, 4),
  MAX_WAITING_JOBS: integer(0, 1024, 32),
  ADMIN_PORT: portOr(8081),
  ADMIN_HOST: z.preprocess(blankIsUnset, z.string().default('0.0.0.0')),
  ADMIN_METRICS_PORT: z.preprocess(blankIsUnset, port.optional()),
  ADMIN_METRICS_HOST: z.preprocess(blankIsUnset, z.string().default('127.0.0.1')),
  ADMIN_TOKEN_FILE: optionalText,
  LOG_LEVEL: z.preprocess(
    blankIsUnset,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  LOG_FORMAT: z.preprocess(
    blankIsUnset,
    z
      .enum(['json', 'pretty'], {
        message: 'must be json or pretty (unset: pretty on a terminal, else json)',
      })
      .optional(),
  ),
  DRAIN_TIMEOUT_SECONDS: integer(1, 3600, 90),
  MAX_PAYLOAD_BYTES: integer(1024, 16 * 1024 * 1024, 256 * 1024),

  POLICY_ALLOWED_PROJECT_IDS: csv.pipe(
    z.array(z.string().regex(/^[a-f0-9]{24}$/, 'each project id must be 24 lowercase hex characters')),
  ),
  POLICY_ALLOWED_ROLES: csv,
  POLICY_ALLOWED_ORG_ROLES: csv.pipe(
    z.array(z.enum(orgRoles, { message: `each org role must be one of ${orgRoles.join(', ')}` })),
  ),
  POLICY_ALLOWED_PROJECT_ROLES: csv.pipe(
    z.array(z.string().regex(/^GROUP_[A-Z_]+$/, 'each project role must be an Atlas role name (GROUP_…)')),
  ),
  POLICY_MAX_GRANT_TTL: duration('12h'),
  POLICY_ALLOW_ADMIN_ROLES: bool,
  POLICY_ALLOWED_JOB_TYPES: csv.pipe(
    z.array(z.enum(jobTypes, { message: `each job type must be one of ${jobTypes.join(', ')}` })),
  ),

  HTTPS_PROXY: proxyUrl,
  HTTP_PROXY: proxyUrl,
  NO_PROXY: optionalText,
  CA_BUNDLE_FILE: optionalText,

  ATLAS_BASE_URL: z.preprocess(
    blankIsUnset,
    z.url({ message: 'must be an absolute URL' }).default('https://cloud.mongodb.com'),
  ),
  ATLAS_ORG_REQUESTS_PER_MINUTE: integer(1, 100_000, 300),
  ATLAS_PROJECT_REQUESTS_PER_MINUTE: integer(1, 100_000, 300),
  ATLAS_RATE_LIMITS_FROM_API: bool,
  ATLAS_INVITATIONS_PER_WINDOW: integer(1, 1000, 10),
  ATLAS_INVITATION_WINDOW: duration('60s'),
  ATLAS_MAX_RETRIES: integer(0, 10, 4),
  ATLAS_READY_TIMEOUT_SECONDS: integer(1, 3600, 120),

  SECRET_CACHE_TTL_SECONDS: integer(0, 86_400, 300),

  SANDBOX_CONTROL_PLANE_PORT: portOr(8780),
  SANDBOX_ATLAS_PORT: portOr(8790),
  SANDBOX_ATLAS_PUBLIC_KEY: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[a-z]{8}$/, 'must be 8 lowercase letters, like an Atlas public key')
      .default('sandboxp'),
  ),
  SANDBOX_ATLAS_PRIVATE_KEY: z.preprocess(
    blankIsUnset,
    z.string().default('00000000-0000-4000-8000-000000000000'),
  ),
  SANDBOX_ATLAS_FIXTURE: optionalText,
  SANDBOX_DEMO: z.preprocess(blankIsUnset, z.enum(['on', 'off']).default('on')),

  POD_NAME: optionalText,
  POD_NAMESPACE: optionalText,
});

export type Env = z.infer<typeof EnvSchema>;

export interface Policy {
  readonly allowedProjectIds: readonly string[];
  readonly allowedRoles: readonly string[];
  /** Atlas UI org roles (atlas-org-portal); empty: every org role except ORG_OWNER. */
  readonly allowedOrgRoles: readonly string[];
  /** Atlas UI project roles (atlas-org-portal); empty: every documented role except GROUP_OWNER. */
  readonly allowedProjectRoles: readonly string[];
  readonly maxGrantTtlMs: number;
  readonly allowAdminRoles: boolean;
  readonly allowedJobTypes: readonly string[];
}

/** POLICY_ALLOWED_PROJECT_IDS, which wins over any integration config; empty means unrestricted. */
export function allowedByPolicy(projectId: string, policy: Pick<Policy, 'allowedProjectIds'>): boolean {
  return policy.allowedProjectIds.length === 0 || policy.allowedProjectIds.includes(projectId);
}

export interface AppConfig {
  /** `sandbox` when no control plane is configured: `npm start` then runs the embedded sandbox. */
  readonly mode: 'sandbox' | 'remote';
  readonly controlPlane: {
    readonly url: string | undefined;
    readonly token: string | undefined;
    readonly tokenFile: string | undefined;
  };
  readonly connectorId: string;
  readonly maxConcurrentJobs: number;
  /** Jobs that may wait on Atlas off-slot at once, on top of `maxConcurrentJobs`; 0: none. */
  readonly maxWaitingJobs: number;
  readonly admin: {
    readonly host: string;
    readonly port: number;
    /** When set, `/status` and `/metrics` are served on this port only (the probes stay on `port`). */
    readonly metricsPort: number | undefined;
    readonly metricsHost: string;
    /** A file holding the bearer token `/status` and `/metrics` require. */
    readonly tokenFile: string | undefined;
  };
  readonly logLevel: Env['LOG_LEVEL'];
  /** Unset: `pretty` when stdout is a terminal, `json` otherwise (containers, pipes). */
  readonly logFormat: 'json' | 'pretty' | undefined;
  readonly drainTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly policy: Policy;
  readonly http: {
    readonly httpsProxy?: string;
    readonly httpProxy?: string;
    readonly noProxy?: string;
    readonly caBundleFile?: string;
  };
  readonly atlas: {
    readonly baseUrl: string;
    readonly orgRequestsPerMinute: number;
    readonly projectRequestsPerMinute: number;
    readonly rateLimitsFromApi: boolean;
    /** Org invitations per window for the whole daemon, every organization together (Atlas: 10 per minute per IP). */
    readonly invitationsPerWindow: number;
    readonly invitationWindowMs: number;
    readonly maxRetries: number;
    readonly readyTimeoutMs: number;
  };
  readonly secretCacheTtlMs: number;
  readonly sandbox: {
    readonly controlPlanePort: number;
    readonly atlasPort: number;
    readonly atlasPublicKey: string;
    readonly atlasPrivateKey: string;
    readonly atlasFixture: string | undefined;
    readonly demo: boolean;
  };
  readonly instance: { readonly podName?: string; readonly podNamespace?: string };
}

const loopbackHosts: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopback(url: URL): boolean {
  return loopbackHosts.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/** The one rule for outbound URLs: https://, or plain http:// to a loopback host only. */
function cleartextUrlProblem(name: string, value: string | undefined): string | undefined {
  const url = value && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url))) return undefined;
  return `${name}: must use https:// (plain http:// is accepted only for loopback addresses)`;
}

/**
 * `user:password@` in the control-plane or Atlas URL: the HTTP client does not send them (the
 * credential would be silently ignored), and the URL is logged at start-up, so it is refused
 * here, by name only.
 */
function urlCredentialsProblem(name: string, value: string | undefined): string | undefined {
  const url = value && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.username === '' && url.password === '')) return undefined;
  return `${name}: must not carry a user name or password (user:password@); credentials go in their own variables`;
}

/**
 * ATLAS_BASE_URL is an origin: the client appends `/api/atlas/v2/…`. The Admin API's documented
 * base URL (`…/api/atlas/v2`) pasted here doubles the prefix, and a 404 for such a path would read
 * as "no such database user" to a revoke, reporting access gone that is still in place.
 */
function originOnlyProblem(name: string, value: string | undefined): string | undefined {
  const url = value && URL.canParse(value) ? new URL(value) : undefined;
  // A bare `?` or `#` parses as an empty query or fragment, yet the appended path would follow it.
  if (!url || (/^\/*$/.test(url.pathname) && !/[?#]/.test(value ?? ''))) return undefined;
  return `${name}: must be an origin such as https://cloud.mongodb.com, with no path, query or fragment (the connector adds /api/atlas/v2)`;
}

/**
 * CONTROL_PLANE_URL is a base URL, a path prefix allowed: the client appends `/connector/v1/…`, which
 * after a query or fragment would be sent inside it (and the URL, query and all, is logged at start).
 */
function baseUrlProblem(name: string, value: string | undefined): string | undefined {
  if (!value || !URL.canParse(value) || !/[?#]/.test(value)) return undefined;
  return `${name}: must have no query or fragment (the connector appends /connector/v1 to it)`;
}

/**
 * Rules that involve more than one variable. Each problem names the variable it is about. A
 * variable set to blanks is unset here as in the schema: a required one so set is missing.
 */
function crossFieldProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  const isSet = (name: string): boolean => blankIsUnset(env[name]) !== undefined;
  // Both carry secrets (enrollment token; issued passwords and OAuth client secrets): never in clear text.
  for (const name of ['CONTROL_PLANE_URL', 'ATLAS_BASE_URL'] as const) {
    for (const problem of [cleartextUrlProblem(name, env[name]), urlCredentialsProblem(name, env[name])])
      if (problem) problems.push(problem);
  }
  const atlasOriginProblem = originOnlyProblem('ATLAS_BASE_URL', env.ATLAS_BASE_URL);
  if (atlasOriginProblem) problems.push(atlasOriginProblem);
  const controlPlaneBaseProblem = baseUrlProblem('CONTROL_PLANE_URL', env.CONTROL_PLANE_URL);
  if (controlPlaneBaseProblem) problems.push(controlPlaneBaseProblem);
  if (isSet('CONTROL_PLANE_URL')) {
    if (!isSet('CONTROL_PLANE_TOKEN') && !isSet('CONTROL_PLANE_TOKEN_FILE')) {
      problems.push('CONTROL_PLANE_TOKEN: set it or CONTROL_PLANE_TOKEN_FILE when CONTROL_PLANE_URL is set');
    }
    if (!isSet('CONNECTOR_ID')) problems.push('CONNECTOR_ID: required when CONTROL_PLANE_URL is set');
  }
  const tokenProblem =
    env.CONTROL_PLANE_TOKEN && isSet('CONTROL_PLANE_TOKEN')
      ? enrollmentTokenProblem(env.CONTROL_PLANE_TOKEN)
      : undefined;
  if (tokenProblem) problems.push(`CONTROL_PLANE_TOKEN: ${tokenProblem}`);
  if (isSet('CONTROL_PLANE_TOKEN') && isSet('CONTROL_PLANE_TOKEN_FILE')) {
    problems.push(
      'CONTROL_PLANE_TOKEN_FILE: set either CONTROL_PLANE_TOKEN or CONTROL_PLANE_TOKEN_FILE, not both',
    );
  }
  // A grant the connector may not revoke stays until Atlas expires it (a UI role: never).
  const allowedJobTypes = (env.POLICY_ALLOWED_JOB_TYPES ?? '').split(',').map((type) => type.trim());
  if (allowedJobTypes.includes('grant') && !allowedJobTypes.includes('revoke')) {
    problems.push(
      'POLICY_ALLOWED_JOB_TYPES: allows grant but not revoke; every grant would outlive its expiry and its revoke (add revoke, or leave the variable empty for every type)',
    );
  }
  const metricsPort = env.ADMIN_METRICS_PORT?.trim() ? Number(env.ADMIN_METRICS_PORT) : undefined;
  const adminPort = env.ADMIN_PORT?.trim() ? Number(env.ADMIN_PORT) : 8081;
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === adminPort) {
    problems.push(
      `ADMIN_METRICS_PORT: must differ from ADMIN_PORT (${adminPort}); unset it to serve /status and /metrics on ADMIN_PORT`,
    );
  }
  return problems;
}

/**
 * A variable's problem says so when its value has blanks around it, the value being never shown:
 * a ConfigMap key or secret made from a file keeps the file's final newline, and `LOG_LEVEL`
 * refused as "expected one of … info …" would leave the operator looking at `info`.
 */
function blanksAround(
  path: readonly PropertyKey[],
  env: Readonly<Record<string, string | undefined>>,
): string {
  const value = path.length === 1 && typeof path[0] === 'string' ? env[path[0]] : undefined;
  return value !== undefined && value.trim() !== '' && value !== value.trim()
    ? ' (the value has a space or line break before or after it, such as a file’s final newline: remove it)'
    : '';
}

/**
 * Parses the environment once into a frozen config. Every problem is reported together, each
 * prefixed with its variable name; values are never echoed (some are secrets).
 */
export function loadConfig(environment: Readonly<Record<string, string | undefined>>): AppConfig {
  const parsed = EnvSchema.safeParse(environment);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map(
          (issue) =>
            `${issue.path.join('.') || '(environment)'}: ${issue.message}${blanksAround(issue.path, environment)}`,
        )),
    ...crossFieldProblems(environment),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new ConnectorError({
      code: 'config_invalid',
      message: `invalid configuration:\n  - ${problems.join('\n  - ')}`,
      details: { problems: problems.length },
    });
  }
  return deepFreeze(toAppConfig(parsed.data));
}

function toAppConfig(env: Env): AppConfig {
  return {
    mode: env.CONTROL_PLANE_URL ? 'remote' : 'sandbox',
    controlPlane: {
      url: env.CONTROL_PLANE_URL,
      token: env.CONTROL_PLANE_TOKEN,
      tokenFile: env.CONTROL_PLANE_TOKEN_FILE,
    },
    connectorId: env.CONNECTOR_ID ?? 'sandbox-connector',
    maxConcurrentJobs: env.MAX_CONCURRENT_JOBS,
    maxWaitingJobs: env.MAX_WAITING_JOBS,
    admin: {
      host: env.ADMIN_HOST,
      port: env.ADMIN_PORT,
      metricsPort: env.ADMIN_METRICS_PORT,
      metricsHost: env.ADMIN_METRICS_HOST,
      tokenFile: env.ADMIN_TOKEN_FILE || undefined,
    },
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    drainTimeoutMs: env.DRAIN_TIMEOUT_SECONDS * 1000,
    maxPayloadBytes: env.MAX_PAYLOAD_BYTES,
    policy: {
      allowedProjectIds: env.POLICY_ALLOWED_PROJECT_IDS,
      allowedRoles: env.POLICY_ALLOWED_ROLES,
      allowedOrgRoles: env.POLICY_ALLOWED_ORG_ROLES,
      allowedProjectRoles: env.POLICY_ALLOWED_PROJECT_ROLES,
      maxGrantTtlMs: env.POLICY_MAX_GRANT_TTL,
      allowAdminRoles: env.POLICY_ALLOW_ADMIN_ROLES,
      allowedJobTypes: env.POLICY_ALLOWED_JOB_TYPES,
    },
    http: {
      httpsProxy: env.HTTPS_PROXY,
      httpProxy: env.HTTP_PROXY,
      noProxy: env.NO_PROXY,
      caBundleFile: env.CA_BUNDLE_FILE,
    },
    atlas: {
      baseUrl: env.ATLAS_BASE_URL.replace(/\/+$/, ''),
      orgRequestsPerMinute: env.ATLAS_ORG_REQUESTS_PER_MINUTE,
      projectRequestsPerMinute: env.ATLAS_PROJECT_REQUESTS_PER_MINUTE,
      rateLimitsFromApi: env.ATLAS_RATE_LIMITS_FROM_API,
      invitationsPerWindow: env.ATLAS_INVITATIONS_PER_WINDOW,
      invitationWindowMs: env.ATLAS_INVITATION_WINDOW,
      maxRetries: env.ATLAS_MAX_RETRIES,
      readyTimeoutMs: env.ATLAS_READY_TIMEOUT_SECONDS * 1000,
    },
    secretCacheTtlMs: env.SECRET_CACHE_TTL_SECONDS * 1000,
    sandbox: {
      controlPlanePort: env.SANDBOX_CONTROL_PLANE_PORT,
      atlasPort: env.SANDBOX_ATLAS_PORT,
      atlasPublicKey: env.SANDBOX_ATLAS_PUBLIC_KEY,
      atlasPrivateKey: env.SANDBOX_ATLAS_PRIVATE_KEY,
      atlasFixture: env.SANDBOX_ATLAS_FIXTURE,
      demo: env.SANDBOX_DEMO === 'on',
    },
    instance: { podName: env.POD_NAME, podNamespace: env.POD_NAMESPACE },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
