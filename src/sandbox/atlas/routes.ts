import type { RouteDef } from './context.js';
import { backupRoutes } from './handlers/backups.js';
import { clusterRoutes } from './handlers/clusters.js';
import { customRoleRoutes } from './handlers/custom-roles.js';
import { databaseUserRoutes } from './handlers/database-users.js';
import { discoveryRoutes } from './handlers/discovery.js';
import { limitRoutes } from './handlers/limits.js';
import { orgUserRoutes } from './handlers/org-users.js';
import { projectUserRoutes } from './handlers/project-users.js';
import { teamAndEventRoutes } from './handlers/teams-events.js';

/**
 * Every operation the simulator serves: method, path template, the media-type versions it accepts
 * (with sunset dates, from the spec) and the role it needs. Anything else answers 404.
 */
export const atlasRoutes: readonly RouteDef[] = [
  ...discoveryRoutes,
  ...clusterRoutes,
  ...backupRoutes,
  ...databaseUserRoutes,
  ...customRoleRoutes,
  ...limitRoutes,
  ...orgUserRoutes,
  ...projectUserRoutes,
  ...teamAndEventRoutes,
];
