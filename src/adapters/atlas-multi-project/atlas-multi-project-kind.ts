import type { KindDefinition } from '../adapter.js';
import {
  databaseAccessOperationNames,
  type DatabaseAccessOperationName,
} from '../database-access/operation-names.js';
import { lazyAdapter } from '../lazy-adapter.js';
import { AtlasMultiProjectConfig } from './atlas-multi-project-config.js';

/** `atlas-multi-project`: database users in any of several projects (one project-owner key). */
export const atlasMultiProjectKind: KindDefinition<AtlasMultiProjectConfig, DatabaseAccessOperationName> = {
  kind: 'atlas-multi-project',
  summary: 'database users in any allowed project the key can see',
  configSchema: AtlasMultiProjectConfig,
  credential: {
    level: 'project',
    projects: 'several',
    role: 'GROUP_OWNER',
    leastPrivilege: ['GROUP_DATABASE_ACCESS_ADMIN', 'GROUP_READ_ONLY'],
    create:
      'atlas organizations apiKeys create --orgId <orgId> --role ORG_MEMBER --desc atlas-jit-connector, then per project: atlas projects apiKeys assign <apiKeyId> --projectId <projectId> --role GROUP_OWNER',
  },
  operations: databaseAccessOperationNames,
  redactFields: [],
  create: (deps) =>
    lazyAdapter('atlas-multi-project', databaseAccessOperationNames, async () =>
      (await import('./atlas-multi-project-adapter.js')).createMultiProjectAdapter(deps),
    ),
};
