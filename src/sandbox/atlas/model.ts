import type { ScramCredentials } from './scram-credentials.js';
import type { FixtureCluster, FixtureDatabase, FixtureProcess, FixtureRoleAssignment } from './fixture.js';

/** The simulator's in-memory records. Plain data; rules live in the handlers. */

export type AuthDatabase = 'admin' | '$external';

export interface DbUserRole {
  readonly roleName: string;
  readonly databaseName: string;
  readonly collectionName?: string;
}

export interface DbUserScope {
  readonly name: string;
  readonly type: 'CLUSTER' | 'DATA_LAKE' | 'STREAM';
}

export interface DbUserLabel {
  readonly key: string;
  readonly value: string;
}

export interface DbUserRec {
  readonly groupId: string;
  readonly username: string;
  readonly databaseName: AuthDatabase;
  /** SCRAM credentials derived from the password when it was set; never the password itself. */
  scram?: ScramCredentials;
  /**
   * The credentials the clusters knew when the password last changed (none if no password had
   * propagated yet): still in force until that change propagates.
   */
  priorScram?: ScramCredentials;
  /** Epoch ms the user was created or its password last set. */
  passwordSetAt: number;
  roles: DbUserRole[];
  scopes: DbUserScope[];
  labels: DbUserLabel[];
  description?: string;
  /** Epoch ms; absent for a permanent user. */
  deleteAfter?: number;
  readonly x509Type: 'NONE' | 'CUSTOMER' | 'MANAGED';
  readonly awsIAMType: 'NONE' | 'USER' | 'ROLE';
  readonly ldapAuthType: 'NONE' | 'GROUP' | 'USER';
  readonly oidcAuthType: 'NONE' | 'IDP_GROUP' | 'USER';
}

export interface PrivilegeResource {
  readonly cluster: boolean;
  readonly db: string;
  readonly collection: string;
}

export interface CustomRoleRec {
  readonly roleName: string;
  actions: { action: string; resources: PrivilegeResource[] }[];
  inheritedRoles: { db: string; role: string }[];
}

export interface ProjectRec {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly created: string;
  readonly tags: { key: string; value: string }[];
  /** Epoch ms of the last change that clusters must apply (user or custom-role write). */
  lastChangeAt?: number;
  readonly limitOverrides: Map<string, number>;
  /** Keyed `${databaseName}/${username}`; insertion order is the listing order. */
  readonly dbUsers: Map<string, DbUserRec>;
  readonly customRoles: Map<string, CustomRoleRec>;
}

export interface ProcessRec extends Omit<FixtureProcess, 'databases'> {
  readonly id: string;
  readonly databases: FixtureDatabase[];
}

export interface ClusterRec extends Omit<FixtureCluster, 'processes'> {
  readonly processes: ProcessRec[];
}

/** EXPIRED/REJECTED invitations stay listed (when asked) until a new invitation replaces them. */
export type MembershipStatus = 'ACTIVE' | 'PENDING' | 'INVITATION_EXPIRED' | 'INVITATION_REJECTED';

export interface OrgUserRec {
  readonly id: string;
  readonly orgId: string;
  readonly username: string;
  status: MembershipStatus;
  firstName: string;
  lastName: string;
  readonly createdAt: string;
  invitationCreatedAt?: string;
  invitationExpiresAt?: string;
  inviterUsername?: string;
  orgRoles: string[];
  /** Project id → project roles held directly (not through teams). */
  readonly groupRoles: Map<string, string[]>;
  readonly teamIds: Set<string>;
}

export interface TeamRec {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly userIds: Set<string>;
  readonly projectRoles: Map<string, string[]>;
}

export type RoleAssignment = FixtureRoleAssignment;

/** A credential: programmatic API key (Digest) or service account (OAuth). */
export interface CredentialRec {
  readonly kind: 'apiKey' | 'serviceAccount';
  readonly id: string;
  /** API key public key, or service-account client id. */
  readonly name: string;
  readonly secret: string;
  readonly desc: string;
  readonly roles: RoleAssignment[];
}

export type EventKind = 'nds' | 'user' | 'team';

export interface EventRec {
  readonly id: string;
  readonly created: string;
  readonly eventTypeName: string;
  readonly kind: EventKind;
  readonly orgId: string;
  readonly groupId?: string;
  readonly dbUserUsername?: string;
  readonly targetUsername?: string;
  readonly teamId?: string;
  readonly apiKeyId?: string;
  readonly publicKey?: string;
  readonly remoteAddress?: string;
}

export function dbUserKey(databaseName: string, username: string): string {
  return `${databaseName}/${username}`;
}
