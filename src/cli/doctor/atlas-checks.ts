import { createAtlasClient, type AtlasClient, type Page, type Project } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import { createLogger } from '../../runtime/logger.js';
import { userAgent } from '../../version.js';
import { atlasCode, credentialIdentity } from './atlas-facts.js';
import type { CheckStep } from './check-runner.js';
import { displayUrl, provided, type DoctorContext } from './doctor-context.js';
import { kindConnection } from './kind-connection.js';
import { emptyAllowLists, policyScopeFinding, type ScopeFinding } from './scope-findings.js';
import { isProjectLevel, type CheckOutcome } from './doctor-types.js';
import { grantCommand } from './role-requirements.js';

const pageSize = 500;
const namesShown = 5;

const authRemedies: Partial<Record<ErrorCode, string>> = {
  auth_failed:
    'check that public_key and private_key are the two halves of one Atlas API key that still exists (atlas organizations apiKeys list), or that the service account secret has not expired',
  forbidden:
    "Atlas refuses calls from this address: add the connector's egress IP to the key's API access list (Organization Access Manager → Applications → API Keys → Edit → access list); a valid key from an address outside the list gets 403, not 401",
  upstream_unavailable:
    'check egress from this host to the Atlas API (firewall, NetworkPolicy); behind a proxy set HTTPS_PROXY and NO_PROXY, and CA_BUNDLE_FILE for a TLS-intercepting proxy',
  not_found: 'ATLAS_BASE_URL does not point at the Atlas Admin API: unset it (https://cloud.mongodb.com)',
  invalid_response:
    'ATLAS_BASE_URL does not point at the Atlas Admin API: unset it (https://cloud.mongodb.com)',
  rate_limited: 'Atlas is rate limiting this credential: wait a minute and run doctor again',
};

export const atlasAuthenticationCheck: CheckStep = {
  name: 'atlas authentication',
  needs: ['configuration', 'secret'],
  async run(ctx, signal) {
    const atlas = atlasClientFor(ctx);
    ctx.atlas = atlas;
    const baseUrl = displayUrl(provided(ctx.config, 'the configuration').atlas.baseUrl);
    try {
      ctx.status = await atlas.identity.status({ signal });
    } catch (error) {
      if (!isConnectorError(error) || signal.aborted) throw error;
      const remedy = authRemedies[error.code];
      const answer =
        typeof error.details.httpStatus === 'number' ? ` answered ${atlasCode(error)}` : `: ${error.message}`;
      return { status: 'fail', detail: `Atlas at ${baseUrl}${answer}`, ...(remedy ? { remedy } : {}) };
    }
    const credentials = provided(ctx.credentials, 'the credential');
    const keyId = ctx.status.apiKey?.id;
    const who =
      credentials.type === 'service-account'
        ? `the service account ${credentials.clientId}`
        : `the API key ${keyId ? `${keyId} ` : ''}(public key ${credentials.publicKey})`;
    const throttling = ctx.status.throttling ? '; Atlas reports it is throttling requests' : '';
    return { status: 'pass', detail: `Atlas at ${baseUrl} accepted ${who}${throttling}` };
  },
};

/** The daemon's own client and settings, with one retry: doctor should answer quickly. */
function atlasClientFor(ctx: DoctorContext): AtlasClient {
  const config = provided(ctx.config, 'the configuration');
  return createAtlasClient({
    baseUrl: config.atlas.baseUrl,
    credentials: provided(ctx.credentialSource, 'the credential'),
    fetch: ctx.fetch,
    clock: ctx.clock,
    random: ctx.random,
    logger: createLogger({ level: 'silent', base: {}, scrubber: ctx.scrubber }),
    userAgent,
    onSecret: (value) => ctx.scrubber.add(value),
    maxRetries: Math.min(config.atlas.maxRetries, 1),
    limits: {
      orgRequestsPerMinute: config.atlas.orgRequestsPerMinute,
      projectRequestsPerMinute: config.atlas.projectRequestsPerMinute,
    },
  });
}

export const atlasVisibilityCheck: CheckStep = {
  name: 'atlas visibility',
  needs: ['atlas authentication'],
  async run(ctx, signal) {
    const seen = isProjectLevel(ctx.target)
      ? await projectVisibility(ctx, signal)
      : await orgVisibility(ctx, signal);
    if (seen.status === 'fail') return seen;
    const findings: ScopeFinding[] = [];
    const policy = policyScopeFinding(ctx);
    if (policy?.status === 'fail') return { ...policy, detail: `${seen.detail}\n${policy.line}` };
    if (policy) findings.push(policy);
    let detail = seen.detail;
    // With the whole config (--integration, or an integration the control plane lists), the kind's own connection check runs too.
    if (ctx.target.config !== undefined) {
      const own = await kindConnection(ctx, signal);
      if (own.status !== 'pass') return own;
      detail = `${detail}\n${own.detail}`;
      findings.push(...emptyAllowLists(ctx.target.config));
    }
    if (findings.length === 0) return { ...seen, detail };
    return {
      status: 'warn',
      detail: [detail, ...findings.map((finding) => finding.line)].join('\n'),
      remedy: findings.map((finding) => finding.remedy).join('\n'),
    };
  },
};

async function projectVisibility(ctx: DoctorContext, signal: AbortSignal): Promise<CheckOutcome> {
  const page = await provided(ctx.atlas, 'the Atlas client').projects.list({
    itemsPerPage: pageSize,
    signal,
  });
  const sees = describeVisibleProjects(page);
  if (ctx.target.projectIds.length > 0) return configuredProjectsVisibility(ctx, sees, signal);
  // atlas-multi-project without ids serves every project the credential can see.
  for (const project of page.results) ctx.projects.set(project.id, project);
  if (page.results.length > 0) {
    const first = page.hasNext ? `; the role check covers the first ${page.results.length}` : '';
    return { status: 'pass', detail: `${sees}${first}` };
  }
  return {
    status: 'fail',
    detail: `${sees}; atlas-multi-project without project ids serves every visible project`,
    remedy: grantCommand({ scope: 'project', projectId: '<projectId>' }, credentialIdentity(ctx)),
  };
}

function describeVisibleProjects(page: Page<Project>): string {
  const count = `${page.results.length}${page.hasNext ? '+' : ''}`;
  const sample = page.results.slice(0, namesShown).map((p) => `${p.name} (${p.id})`);
  const more = page.results.length > namesShown ? ', …' : '';
  return `the credential sees ${count} project(s)${sample.length > 0 ? `: ${sample.join(', ')}${more}` : ''}`;
}

async function configuredProjectsVisibility(
  ctx: DoctorContext,
  sees: string,
  signal: AbortSignal,
): Promise<CheckOutcome> {
  const atlas = provided(ctx.atlas, 'the Atlas client');
  const missing: string[] = [];
  let detail = sees;
  for (const projectId of ctx.target.projectIds) {
    try {
      ctx.projects.set(projectId, await atlas.projects.get(projectId, { signal }));
    } catch (error) {
      if (!isConnectorError(error) || signal.aborted) throw error;
      missing.push(projectId);
      detail += `\nproject ${projectId} is not visible (${atlasCode(error)})`;
    }
  }
  if (missing.length === 0)
    return { status: 'pass', detail: `${detail}; every configured project is visible` };
  const grants = missing.map((projectId) =>
    grantCommand({ scope: 'project', projectId }, credentialIdentity(ctx)),
  );
  return {
    status: 'fail',
    detail,
    remedy: [
      'check the project id (atlas projects list); if it is right, give the credential a role there:',
      ...grants,
    ].join('\n'),
  };
}

async function orgVisibility(ctx: DoctorContext, signal: AbortSignal): Promise<CheckOutcome> {
  const atlas = provided(ctx.atlas, 'the Atlas client');
  const orgId = provided(ctx.target.orgId, 'the organization id');
  try {
    const org = await atlas.organizations.get(orgId, { signal });
    ctx.organization = org;
    const projects = await atlas.projects.listForOrg(orgId, { itemsPerPage: pageSize, signal });
    const count = `${projects.results.length}${projects.hasNext ? '+' : ''}`;
    return {
      status: 'pass',
      detail: `organization ${org.name} (${org.id}) is visible, with ${count} project(s) the credential can see`,
    };
  } catch (error) {
    if (!isConnectorError(error) || signal.aborted) throw error;
    return {
      status: 'fail',
      detail: `organization ${orgId} is not visible to the credential (${atlasCode(error)})`,
      remedy:
        'check the organization id (atlas organizations list); an API key belongs to one organization, so create one there: ' +
        `atlas organizations apiKeys create --orgId ${orgId} --desc atlas-jit-connector --role ORG_OWNER`,
    };
  }
}
