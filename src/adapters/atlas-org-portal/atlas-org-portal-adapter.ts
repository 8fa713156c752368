import { z } from 'zod';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import {
  defineOperation,
  type AtlasCredential,
  type CommonDeps,
  type ConnectionCheck,
  type IntegrationAdapter,
} from '../adapter.js';
import type { OrganizationScope } from '../scope.js';
import type { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import { discoverOrg } from './discover.js';
import { grantAccess } from './grant.js';
import type { OrgPortalExtras, OrgPortalOperation } from './atlas-org-portal-kind.js';
import { GrantPayload, RenewPayload, RevokePayload, SweepPayload } from './payloads.js';
import type { PortalDeps } from './person.js';
import { renewAccess } from './renew.js';
import { revokeAccess } from './revoke.js';
import { sweepAccess } from './sweep.js';

/** The whole organization is the scope of every job of this kind. */
export function orgPortalScope(config: AtlasOrgPortalConfig): OrganizationScope {
  return { kind: 'organization', orgId: config.orgId };
}

/** Reads the organization and one page of its members: proves the credential reaches both. */
async function checkConnection(
  config: AtlasOrgPortalConfig,
  credential: AtlasCredential,
  ctx: JobContext,
): Promise<ConnectionCheck> {
  const { orgId } = orgPortalScope(config);
  try {
    const org = await credential.atlas.organizations.get(orgId, { signal: ctx.signal });
    const page = await credential.atlas.orgUsers.list(orgId, { itemsPerPage: 1, signal: ctx.signal });
    const members = page.totalCount ?? page.results.length;
    return { ok: true, detail: `organization ${org.name} (${org.id}), ${members} member(s) visible` };
  } catch (error) {
    if (!isConnectorError(error) || error.code === 'cancelled') throw error;
    return { ok: false, detail: ctx.describe(error), code: error.code };
  }
}

/** The `atlas-org-portal` adapter, imported by the kind's first job (`atlas-org-portal-kind.ts`). */
export function createOrgPortalAdapter(
  deps: CommonDeps & OrgPortalExtras,
): IntegrationAdapter<AtlasOrgPortalConfig, OrgPortalOperation> {
  const ports = (credential: AtlasCredential): PortalDeps => ({
    atlas: credential.atlas,
    clock: deps.clock,
    policy: deps.policy,
    invitations: deps.invitations,
  });
  return {
    operations: {
      discover: defineOperation(z.object({}).passthrough(), ({ config, integration }, credential, ctx) =>
        discoverOrg(
          { config, job: { integrationId: integration.id, jobId: ctx.jobId, generation: ctx.fencingToken } },
          { atlas: credential.atlas, policy: deps.policy, snapshots: deps.snapshots },
          ctx,
        ),
      ),
      grant: defineOperation(GrantPayload, ({ config, payload }, credential, ctx) =>
        grantAccess({ config, payload }, ports(credential), ctx),
      ),
      revoke: defineOperation(RevokePayload, ({ config, payload }, credential, ctx) =>
        revokeAccess({ config, payload }, ports(credential), ctx),
      ),
      renew: defineOperation(RenewPayload, async ({ config, payload }, _credential, ctx) =>
        renewAccess({ config, payload }, deps, ctx),
      ),
      sweep: defineOperation(SweepPayload, ({ config, payload }, credential, ctx) =>
        sweepAccess({ config, payload }, ports(credential), ctx),
      ),
    },
    checkConnection,
  };
}
