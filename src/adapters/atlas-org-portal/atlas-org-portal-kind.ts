import type { KindDefinition } from '../adapter.js';
import { lazyAdapter } from '../lazy-adapter.js';
import { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';
import type { InvitationPacer } from './invitation-pacer.js';

const operations = ['discover', 'grant', 'revoke', 'renew', 'sweep'] as const;
export type OrgPortalOperation = (typeof operations)[number];

/** What this kind needs beyond the common deps: the daemon-wide invitation pacer (built in main). */
export interface OrgPortalExtras {
  readonly invitations: Pick<InvitationPacer, 'acquire' | 'holdOff'>;
}

/**
 * `atlas-org-portal`: temporary Atlas UI organization and project roles (ARCHITECTURE §5,
 * docs/org-portal.md). No `rotate`: this kind issues no credential. The adapter itself is in
 * `atlas-org-portal-adapter.ts`, imported by the kind's first job.
 */
export const atlasOrgPortalKind: KindDefinition<AtlasOrgPortalConfig, OrgPortalOperation, OrgPortalExtras> = {
  kind: 'atlas-org-portal',
  summary: 'temporary Atlas UI organization and project roles for Atlas users',
  configSchema: AtlasOrgPortalConfig,
  credential: {
    level: 'organization',
    role: 'ORG_OWNER',
    create: 'atlas organizations apiKeys create --orgId <orgId> --role ORG_OWNER --desc atlas-jit-connector',
  },
  operations,
  redactFields: [],
  create: (deps) =>
    lazyAdapter('atlas-org-portal', operations, async () =>
      (await import('./atlas-org-portal-adapter.js')).createOrgPortalAdapter(deps),
    ),
};
