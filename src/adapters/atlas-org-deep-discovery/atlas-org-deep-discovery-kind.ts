import type { KindDefinition } from '../adapter.js';
import {
  databaseAccessOperationNames,
  type DatabaseAccessOperationName,
} from '../database-access/operation-names.js';
import { lazyAdapter } from '../lazy-adapter.js';
import { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';
import type { NamespaceReader } from './namespace-reader.js';

/** What the kind needs beyond the common deps; `src/main.ts` supplies it. */
export interface DeepDiscoveryExtras {
  /** CONNECTOR_ID of the connector running the job. */
  readonly connectorId: string;
  /** The driver port for `collectionDiscovery: driver`; absent → that mode reports a reason per cluster. */
  readonly reader: NamespaceReader | undefined;
}

/**
 * `atlas-org-deep-discovery`: with one organization key, every cluster of every project is a
 * sub-integration; cluster tags say which connector serves it and how it is reached
 * (docs/deep-discovery.md).
 */
export const atlasOrgDeepDiscoveryKind: KindDefinition<
  DeepDiscoveryConfig,
  DatabaseAccessOperationName,
  DeepDiscoveryExtras
> = {
  kind: 'atlas-org-deep-discovery',
  summary: 'every cluster of every project of an organization as a sub-integration, routed by cluster tags',
  configSchema: DeepDiscoveryConfig,
  credential: {
    level: 'organization',
    role: 'ORG_OWNER',
    create: 'atlas organizations apiKeys create --orgId <orgId> --role ORG_OWNER --desc atlas-jit-connector',
  },
  operations: databaseAccessOperationNames,
  redactFields: [],
  create: (deps) =>
    lazyAdapter('atlas-org-deep-discovery', databaseAccessOperationNames, async () =>
      (await import('./atlas-org-deep-discovery-adapter.js')).createDeepDiscoveryAdapter(deps),
    ),
};
