import { z } from 'zod';
import type { CallOptions, Page, PageOptions } from '../pagination.js';
import type { Transport } from '../transport.js';
import { keyValueSchema, type KeyValue } from './common.js';

export type AuthDatabase = 'admin' | '$external';

export interface DatabaseUserRole {
  readonly roleName: string;
  readonly databaseName: string;
  readonly collectionName?: string;
}

export interface DatabaseUserScope {
  readonly name: string;
  readonly type: 'CLUSTER' | 'DATA_LAKE' | 'STREAM';
}

/** The create body (`CloudDatabaseUser`). `groupId` is required in the body as well as the path. */
export interface DatabaseUserInput {
  readonly groupId: string;
  readonly username: string;
  readonly databaseName: AuthDatabase;
  /** Write-only; never returned, never logged. */
  readonly password?: string;
  readonly roles: readonly DatabaseUserRole[];
  /** Omitted means every cluster, data lake and stream workspace in the project. */
  readonly scopes?: readonly DatabaseUserScope[];
  readonly labels?: readonly KeyValue[];
  /** ISO 8601, in the future and at most one week after the request. */
  readonly deleteAfterDate?: string;
  /** At most 100 characters. */
  readonly description?: string;
}

/** PATCH replaces the arrays it carries wholesale; identity fields come from the path. */
export type DatabaseUserUpdate = Partial<Omit<DatabaseUserInput, 'groupId' | 'username' | 'databaseName'>>;

export const databaseUserSchema = z.object({
  username: z.string(),
  databaseName: z.string(),
  groupId: z.string().optional(),
  roles: z
    .array(
      z.object({ roleName: z.string(), databaseName: z.string(), collectionName: z.string().optional() }),
    )
    .default([]),
  scopes: z.array(z.object({ name: z.string(), type: z.string() })).optional(),
  labels: z.array(keyValueSchema).optional(),
  deleteAfterDate: z.string().optional(),
  description: z.string().optional(),
  x509Type: z.string().optional(),
  awsIAMType: z.string().optional(),
  ldapAuthType: z.string().optional(),
  oidcAuthType: z.string().optional(),
});
export type DatabaseUser = z.infer<typeof databaseUserSchema>;

export interface DatabaseUsersApi {
  list(groupId: string, options?: PageOptions): Promise<Page<DatabaseUser>>;
  get(
    groupId: string,
    databaseName: AuthDatabase,
    username: string,
    options?: CallOptions,
  ): Promise<DatabaseUser>;
  /** Never retried: a 409 means the user exists, and the caller reconciles with `get`. */
  create(groupId: string, user: DatabaseUserInput, options?: CallOptions): Promise<DatabaseUser>;
  update(
    groupId: string,
    databaseName: AuthDatabase,
    username: string,
    update: DatabaseUserUpdate,
    options?: CallOptions,
  ): Promise<DatabaseUser>;
  /** A 404 after a retried delete means an earlier attempt already removed the user. */
  delete(groupId: string, databaseName: AuthDatabase, username: string, options?: CallOptions): Promise<void>;
}

export function createDatabaseUsersApi(transport: Transport): DatabaseUsersApi {
  return {
    list: (groupId, options = {}) =>
      transport.page(
        { operation: 'listGroupDatabaseUsers', params: { groupId }, signal: options.signal },
        options,
        databaseUserSchema,
      ),
    get: (groupId, databaseName, username, options = {}) =>
      transport.json(
        {
          operation: 'getGroupDatabaseUser',
          params: { groupId, databaseName, username },
          signal: options.signal,
        },
        databaseUserSchema,
      ),
    create: (groupId, user, options = {}) =>
      transport.json(
        { operation: 'createGroupDatabaseUser', params: { groupId }, body: user, signal: options.signal },
        databaseUserSchema,
      ),
    update: (groupId, databaseName, username, update, options = {}) =>
      transport.json(
        {
          operation: 'updateGroupDatabaseUser',
          params: { groupId, databaseName, username },
          body: { ...update, groupId, databaseName, username },
          signal: options.signal,
        },
        databaseUserSchema,
      ),
    delete: (groupId, databaseName, username, options = {}) =>
      transport.none({
        operation: 'deleteGroupDatabaseUser',
        params: { groupId, databaseName, username },
        signal: options.signal,
      }),
  };
}
