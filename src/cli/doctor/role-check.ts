import { paginate, type AtlasClient, type RoleAssignment } from '../../atlas/index.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { atlasCode, credentialIdentity } from './atlas-facts.js';
import type { CheckStep } from './check-runner.js';
import { provided, type DoctorContext } from './doctor-context.js';
import { isProjectLevel, type CheckOutcome } from './doctor-types.js';
import {
  describeVerdict,
  evaluateRoles,
  grantRemedy,
  type CredentialIdentity,
  type RoleTarget,
} from './role-requirements.js';
import { probeAccess } from './role-probe.js';

type RoleReading =
  | {
      readonly known: true;
      readonly identity: CredentialIdentity;
      readonly assignments: readonly RoleAssignment[];
      readonly source: string;
    }
  | { readonly known: false; readonly reason: string };

/** The credential's roles against what the kind needs, with the exact grant command for any gap. */
export const roleCheck: CheckStep = {
  name: 'atlas roles',
  needs: ['atlas authentication'],
  async run(ctx, signal) {
    const targets = roleTargets(ctx);
    if (targets.length === 0) {
      return {
        status: 'skip',
        detail: 'no project to check: the credential sees none (see "atlas visibility")',
      };
    }
    const reading = await readRoles(ctx, targets, signal);
    if (!reading.known) return probeAccess(ctx, targets, reading.reason, signal);
    return judge(targets, reading);
  },
};

function judge(targets: readonly RoleTarget[], reading: Extract<RoleReading, { known: true }>): CheckOutcome {
  const verdicts = targets.map((target) => evaluateRoles(target, reading.assignments));
  const lines = [`roles read from ${reading.source}`, ...verdicts.map(describeVerdict)];
  const gaps = verdicts.filter((v) => v.outcome === 'missing');
  if (gaps.length === 0) return { status: 'pass', detail: lines.join('\n') };
  return { status: 'fail', detail: lines.join('\n'), remedy: grantRemedy(gaps, reading.identity) };
}

/** Every project (or the organization) the integration will act on, with its org when known. */
export function roleTargets(ctx: DoctorContext): RoleTarget[] {
  const { target } = ctx;
  if (!isProjectLevel(target)) {
    const orgId = provided(target.orgId, 'the organization id');
    const name = ctx.organization?.id === orgId ? ctx.organization.name : undefined;
    return [{ scope: 'org', orgId, ...(name ? { name } : {}) }];
  }
  const ids = target.projectIds.length > 0 ? target.projectIds : [...ctx.projects.keys()];
  return ids.map((projectId) => {
    const project = ctx.projects.get(projectId);
    return project
      ? { scope: 'project', projectId, orgId: project.orgId, name: project.name }
      : { scope: 'project', projectId };
  });
}

async function readRoles(
  ctx: DoctorContext,
  targets: readonly RoleTarget[],
  signal: AbortSignal,
): Promise<RoleReading> {
  const credentials = provided(ctx.credentials, 'the credential');
  const atlas = provided(ctx.atlas, 'the Atlas client');
  const orgIds = [...new Set(targets.flatMap((t) => (t.orgId ? [t.orgId] : [])))];
  try {
    if (credentials.type === 'api-key') {
      const own = ctx.status?.apiKey;
      // The root call returns an API key's own roles: no extra call, no extra permission.
      if (own && own.roles.length > 0) {
        return {
          known: true,
          identity: credentialIdentity(ctx),
          assignments: own.roles,
          source: 'GET /api/atlas/v2',
        };
      }
      return await apiKeyRolesFromOrg(ctx, atlas, credentials.publicKey, orgIds, signal);
    }
    return await serviceAccountRoles(ctx, atlas, credentials.clientId, orgIds, signal);
  } catch (error) {
    if (!isConnectorError(error) || signal.aborted) throw error;
    return { known: false, reason: `Atlas refused to list them: ${atlasCode(error)}` };
  }
}

async function apiKeyRolesFromOrg(
  ctx: DoctorContext,
  atlas: AtlasClient,
  publicKey: string,
  orgIds: readonly string[],
  signal: AbortSignal,
): Promise<RoleReading> {
  if (orgIds.length === 0)
    return { known: false, reason: 'no organization is known (no configured project is visible)' };
  for (const orgId of orgIds) {
    for await (const key of paginate((page) => atlas.identity.listOrgApiKeys(orgId, { ...page, signal }))) {
      if (key.publicKey === publicKey) {
        const identity = credentialIdentity(ctx, key.id);
        return { known: true, identity, assignments: key.roles, source: `GET /orgs/${orgId}/apiKeys` };
      }
    }
  }
  return { known: false, reason: `the key is not among the API keys of organization ${orgIds.join(', ')}` };
}

async function serviceAccountRoles(
  ctx: DoctorContext,
  atlas: AtlasClient,
  clientId: string,
  orgIds: readonly string[],
  signal: AbortSignal,
): Promise<RoleReading> {
  if (orgIds.length === 0)
    return { known: false, reason: 'no organization is known (no configured project is visible)' };
  const assignments: RoleAssignment[] = [];
  for (const orgId of orgIds) {
    const account = await atlas.identity.getServiceAccount(orgId, clientId, { signal });
    assignments.push(...account.roles.map((roleName) => ({ orgId, roleName })));
    const projects = paginate((page) =>
      atlas.identity.listServiceAccountProjects(orgId, clientId, { ...page, signal }),
    );
    for await (const project of projects) {
      assignments.push(...project.roles.map((roleName) => ({ groupId: project.groupId, roleName })));
    }
  }
  const source = orgIds.map((orgId) => `GET /orgs/${orgId}/serviceAccounts/${clientId}[/groups]`).join(', ');
  return { known: true, identity: credentialIdentity(ctx), assignments, source };
}
