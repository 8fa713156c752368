import { isConnectorError } from '../../errors/connector-error.js';
import { atlasCode, credentialIdentity } from './atlas-facts.js';
import { provided, type DoctorContext } from './doctor-context.js';
import type { CheckOutcome } from './doctor-types.js';
import { describeTarget, grantRemedy, orgNeed, projectNeed, type RoleTarget } from './role-requirements.js';

/** Enough to tell "works everywhere" from "refused somewhere" without hammering a large org. */
const maxProbedTargets = 10;

/**
 * When the roles cannot be read, doctor tries the reads the daemon makes first. They prove read
 * access only: the writes (creating a database user, an org role) cannot be tried without
 * changing the customer's Atlas, so a clean probe is a warning, never a pass.
 */
export async function probeAccess(
  ctx: DoctorContext,
  targets: readonly RoleTarget[],
  reason: string,
  signal: AbortSignal,
): Promise<CheckOutcome> {
  const probed = targets.slice(0, maxProbedTargets);
  const refused: { target: RoleTarget; why: string }[] = [];
  for (const target of probed) {
    const why = await probeOne(ctx, target, signal);
    if (why !== undefined) refused.push({ target, why });
  }
  const what =
    targets[0]?.scope === 'org' ? 'listing organization users' : 'listing database users and custom roles';
  const intro = `could not read the credential's roles (${reason}); fell back to a probe`;
  if (refused.length > 0) {
    return {
      status: 'fail',
      detail: [
        intro,
        ...refused.map((r) => `${describeTarget(r.target)}: ${what} was refused (${r.why})`),
      ].join('\n'),
      remedy: grantRemedy(
        refused.map((r) => ({ target: r.target, direct: [], implied: [], outcome: 'missing' })),
        credentialIdentity(ctx),
      ),
    };
  }
  const more = targets.length > probed.length ? ` (the first ${probed.length} of ${targets.length})` : '';
  const need = targets[0]?.scope === 'org' ? orgNeed : projectNeed;
  return {
    status: 'warn',
    detail: `${intro}: ${what} works on ${probed.map(describeTarget).join(', ')}${more}. That shows read access only: whether the credential holds ${need} cannot be confirmed without writing`,
    remedy: readRolesRemedy(ctx, need),
  };
}

async function probeOne(
  ctx: DoctorContext,
  target: RoleTarget,
  signal: AbortSignal,
): Promise<string | undefined> {
  const atlas = provided(ctx.atlas, 'the Atlas client');
  try {
    if (target.scope === 'org') {
      await atlas.orgUsers.list(target.orgId, { itemsPerPage: 1, signal });
    } else {
      await atlas.databaseUsers.list(target.projectId, { itemsPerPage: 1, signal });
      await atlas.customDbRoles.list(target.projectId, { signal });
    }
    return undefined;
  } catch (error) {
    if (!isConnectorError(error) || signal.aborted) throw error;
    return atlasCode(error);
  }
}

function readRolesRemedy(ctx: DoctorContext, need: string): string {
  const credentials = provided(ctx.credentials, 'the credential');
  return credentials.type === 'service-account'
    ? `confirm in Atlas that service account ${credentials.clientId} holds ${need} (Organization Access Manager → Applications → Service Accounts)`
    : `confirm that the key with public key ${credentials.publicKey} holds ${need}: atlas organizations apiKeys list`;
}
