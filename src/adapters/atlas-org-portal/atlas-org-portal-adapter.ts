import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import { operation, type AdapterDeps, type ConnectionCheck, type IntegrationAdapter } from '../adapter.js';
import { AtlasOrgPortalConfig } from './config.js';
import { discoverOrg } from './discover.js';
import { grantAccess } from './grant.js';
import { GrantPayload, RenewPayload, RevokePayload, SweepPayload } from './payloads.js';
import type { PortalDeps } from './person.js';
import { renewAccess } from './renew.js';
import { revokeAccess } from './revoke.js';
import { sweepAccess } from './sweep.js';
import { z } from 'zod';

/** The narrow ports of this kind, picked from the shared adapter deps. */
function portalDeps(deps: AdapterDeps): PortalDeps {
  if (!deps.invitations) {
    throw new ConnectorError({ code: 'internal', message: 'atlas-org-portal needs the invitation pacer' });
  }
  return { atlas: deps.atlas, clock: deps.clock, policy: deps.policy, invitations: deps.invitations };
}

/** Reads the organization and the key's own caller role there: proves the ORG_OWNER credential. */
async function checkConnection(
  config: AtlasOrgPortalConfig,
  deps: AdapterDeps,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  try {
    const org = await deps.atlas.organizations.get(config.orgId, { signal: ctx.signal });
    const page = await deps.atlas.orgUsers.list(config.orgId, { itemsPerPage: 1, signal: ctx.signal });
    return {
      ok: true,
      detail: `organization ${org.name} (${org.id}), ${page.totalCount ?? page.results.length} member(s) visible`,
    };
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: error.message };
  }
}

/**
 * `atlas-org-portal`: temporary Atlas UI organization and project roles (ARCHITECTURE §5,
 * docs/org-portal.md). No `rotate`: this kind issues no credential.
 */
export const atlasOrgPortalAdapter: IntegrationAdapter<AtlasOrgPortalConfig> = {
  kind: 'atlas-org-portal',
  configSchema: AtlasOrgPortalConfig,
  secretFields: [],
  checkConnection,
  handlers: {
    discover: operation(z.object({}).passthrough(), ({ config, integration }, deps, ctx) =>
      discoverOrg(
        { config, job: { integrationId: integration.id, jobId: ctx.jobId, generation: ctx.fencingToken } },
        { atlas: deps.atlas, policy: deps.policy, snapshots: deps.snapshots },
        ctx,
      ),
    ),
    grant: operation(GrantPayload, ({ config, payload }, deps, ctx) =>
      grantAccess({ config, payload }, portalDeps(deps), ctx),
    ),
    revoke: operation(RevokePayload, ({ config, payload }, deps, ctx) =>
      revokeAccess({ config, payload }, portalDeps(deps), ctx),
    ),
    renew: operation(RenewPayload, async ({ payload }, deps) => renewAccess({ payload }, deps)),
    sweep: operation(SweepPayload, ({ config, payload }, deps, ctx) =>
      sweepAccess({ config, payload }, portalDeps(deps), ctx),
    ),
  },
};
