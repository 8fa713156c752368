/** The Atlas Admin API v2 client: the only code in the project that knows Atlas URLs and media types. */
export { createAtlasClient, defaultAtlasBackoff, defaultAtlasBaseUrl } from './client.js';
export type { AtlasClient, AtlasClientOptions } from './client.js';
export type { AtlasCredentials, CredentialSource } from './credentials.js';
export { credentialSecrets } from './credentials.js';
export { atlasOperations, mediaType } from './operations.js';
export type { ApiVersion, OperationId, RateScope } from './operations.js';
export { paginate, paginateComplete, defaultItemsPerPage, maxItemsPerPage } from './pagination.js';
export type {
  CallOptions,
  KeyedPaginateCompleteOptions,
  Page,
  PageOptions,
  PaginateCompleteOptions,
  PaginateOptions,
} from './pagination.js';
export { createRateLimiter, unlimitedRateLimiter } from './rate-limiter.js';
export type { RateLimiter, RateLimiterSettings } from './rate-limiter.js';
export type { PacedInfo, RateLimitObservation, RequestInfo, RetryInfo } from './transport.js';
export type { BackupSnapshot, NamespaceName } from './resources/backup-snapshots.js';
export type { Cluster, ClusterStatus, ConnectionStrings, FlexCluster } from './resources/clusters.js';
export type { KeyValue } from './resources/common.js';
export type { CustomDbRole, CustomDbRoleInput, CustomDbRoleUpdate } from './resources/custom-db-roles.js';
export type {
  AuthDatabase,
  DatabaseUser,
  DatabaseUserInput,
  DatabaseUserRole,
  DatabaseUserScope,
  DatabaseUserUpdate,
} from './resources/database-users.js';
export type { AtlasEvent, EventListOptions } from './resources/events.js';
export type {
  ApiKey,
  RoleAssignment,
  ServiceAccount,
  ServiceAccountProject,
  SystemStatus,
} from './resources/identity.js';
export type { OrgMembershipStatus, OrgUser, ProjectUser } from './resources/atlas-users.js';
export type { OrgUserInvite, OrgUserListOptions } from './resources/org-users.js';
export type { Organization } from './resources/organizations.js';
export type { AtlasProcess, ProcessDatabase } from './resources/processes.js';
export { projectLimitNames } from './resources/project-limits.js';
export type { ProjectLimit } from './resources/project-limits.js';
export type { ProjectUserAdd, ProjectUserListOptions } from './resources/project-users.js';
export type { Project } from './resources/projects.js';
export type { RateLimitSet, RateLimitTarget } from './resources/rate-limits.js';
export type { ProjectTeam, Team } from './resources/teams.js';
