import type { KindDefinition } from '../adapter.js';
import {
  databaseAccessOperationNames,
  type DatabaseAccessOperationName,
} from '../database-access/operation-names.js';
import { lazyAdapter } from '../lazy-adapter.js';
import { AtlasProjectConfig } from './atlas-project-config.js';

/** `atlas-project`: database users on one cluster of one project (project API key, GROUP_OWNER). */
export const atlasProjectKind: KindDefinition<AtlasProjectConfig, DatabaseAccessOperationName> = {
  kind: 'atlas-project',
  summary: 'database users on one cluster of one project',
  configSchema: AtlasProjectConfig,
  credential: {
    level: 'project',
    projects: 'one',
    role: 'GROUP_OWNER',
    leastPrivilege: ['GROUP_DATABASE_ACCESS_ADMIN', 'GROUP_READ_ONLY'],
    create:
      'atlas projects apiKeys create --projectId <projectId> --role GROUP_OWNER --desc atlas-jit-connector',
  },
  operations: databaseAccessOperationNames,
  redactFields: [],
  create: (deps) =>
    lazyAdapter('atlas-project', databaseAccessOperationNames, async () =>
      (await import('./atlas-project-adapter.js')).createAtlasProjectAdapter(deps),
    ),
};
