import { z } from 'zod';
import { atlasError, fieldError, type AtlasHttpError } from './errors.js';

/**
 * Request bodies as the spec defines them, strict: Atlas refuses attributes it does not know
 * (`INVALID_ATTRIBUTE`), so the simulator does too. readOnly response fields (`links`) are
 * tolerated because clients commonly echo a fetched document back.
 */

const objectId = z.string().regex(/^[a-f0-9]{24}$/);
const readOnlyLinks = z.array(z.unknown()).optional();

export const privilegeActions = [
  'FIND',
  'INSERT',
  'REMOVE',
  'UPDATE',
  'BYPASS_DOCUMENT_VALIDATION',
  'USE_UUID',
  'KILL_OP',
  'BYPASS_DEFAULT_MAX_TIME_MS',
  'CREATE_COLLECTION',
  'CREATE_INDEX',
  'DROP_COLLECTION',
  'ENABLE_PROFILER',
  'KILL_ANY_CURSOR',
  'ANALYZE',
  'CHANGE_STREAM',
  'COLL_MOD',
  'COMPACT',
  'CONVERT_TO_CAPPED',
  'DROP_DATABASE',
  'DROP_INDEX',
  'RE_INDEX',
  'RENAME_COLLECTION_SAME_DB',
  'SET_USER_WRITE_BLOCK',
  'BYPASS_USER_WRITE_BLOCK',
  'LIST_SESSIONS',
  'KILL_ANY_SESSION',
  'COLL_STATS',
  'CONN_POOL_STATS',
  'DB_HASH',
  'DB_STATS',
  'GET_CMD_LINE_OPTS',
  'GET_LOG',
  'GET_PARAMETER',
  'GET_SHARD_MAP',
  'HOST_INFO',
  'IN_PROG',
  'LIST_DATABASES',
  'LIST_COLLECTIONS',
  'LIST_INDEXES',
  'LIST_SHARDS',
  'NET_STAT',
  'REPL_SET_GET_CONFIG',
  'REPL_SET_GET_STATUS',
  'SERVER_STATUS',
  'VALIDATE',
  'SHARDING_STATE',
  'TOP',
  'SQL_GET_SCHEMA',
  'SQL_SET_SCHEMA',
  'VIEW_ALL_HISTORY',
  'OUT_TO_S3',
  'OUT_TO_AZURE',
  'OUT_TO_GCS',
  'STORAGE_GET_CONFIG',
  'STORAGE_SET_CONFIG',
  'FLUSH_ROUTER_CONFIG',
  'ENABLE_SHARDING',
  'CHECK_METADATA_CONSISTENCY',
  'MOVE_CHUNK',
  'SPLIT_CHUNK',
  'ANALYZE_SHARD_KEY',
  'REFINE_COLLECTION_SHARD_KEY',
  'CLEAR_JUMBO_FLAG',
  'RESHARD_COLLECTION',
  'SHARDED_DATA_DISTRIBUTION',
  'GET_STREAM_PROCESSOR',
  'CREATE_STREAM_PROCESSOR',
  'PROCESS_STREAM_PROCESSOR',
  'MODIFY_STREAM_PROCESSOR',
  'START_STREAM_PROCESSOR',
  'STOP_STREAM_PROCESSOR',
  'DROP_STREAM_PROCESSOR',
  'SAMPLE_STREAM_PROCESSOR',
  'LIST_STREAM_PROCESSORS',
  'LIST_CONNECTIONS',
  'STREAM_PROCESSOR_STATS',
  'CREATE_SEARCH_INDEX',
  'DROP_SEARCH_INDEX',
  'LIST_SEARCH_INDEXES',
  'UPDATE_SEARCH_INDEX',
] as const;

const dbUserRole = z.strictObject({
  roleName: z.string().min(1),
  databaseName: z.string().min(1),
  collectionName: z.string().min(1).optional(),
});

const dbUserFields = {
  username: z.string().min(1).max(1024),
  databaseName: z.enum(['admin', '$external']),
  groupId: z.string(),
  password: z.string().min(8),
  roles: z.array(dbUserRole).min(1),
  scopes: z.array(
    z.strictObject({
      name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/),
      type: z.enum(['CLUSTER', 'DATA_LAKE', 'STREAM']),
    }),
  ),
  labels: z.array(z.strictObject({ key: z.string().min(1).max(255), value: z.string().min(1).max(255) })),
  description: z.string().max(100),
  deleteAfterDate: z.iso.datetime({ offset: true }),
  x509Type: z.enum(['NONE', 'CUSTOMER', 'MANAGED']),
  awsIAMType: z.enum(['NONE', 'USER', 'ROLE']),
  ldapAuthType: z.enum(['NONE', 'GROUP', 'USER']),
  oidcAuthType: z.enum(['NONE', 'IDP_GROUP', 'USER']),
  links: readOnlyLinks,
};

export const createDbUserSchema = z
  .strictObject(dbUserFields)
  .partial()
  .required({ username: true, databaseName: true, groupId: true, roles: true });
export const updateDbUserSchema = z.strictObject(dbUserFields).partial();
/** The PATCH body where a role-less user is accepted (knob `databaseUserEmptyRoles: 'accept'`). */
export const updateDbUserAllowingNoRolesSchema = z
  .strictObject({ ...dbUserFields, roles: z.array(dbUserRole) })
  .partial();
export type DbUserBody = z.infer<typeof updateDbUserSchema>;

const privilegeAction = z.strictObject({
  action: z.enum(privilegeActions),
  resources: z.array(z.strictObject({ cluster: z.boolean(), db: z.string(), collection: z.string() })),
});
const inheritedRole = z.strictObject({ db: z.string().min(1), role: z.string().min(1) });
/** The spec declares `inheritedRoles` with `uniqueItems: true`. */
const inheritedRoles = z
  .array(inheritedRole)
  .refine((items) => new Set(items.map((r) => JSON.stringify([r.role, r.db]))).size === items.length, {
    message: 'must not list an inherited role twice',
  });

export const createCustomRoleSchema = z.strictObject({
  roleName: z.string(),
  actions: z.array(privilegeAction).optional(),
  inheritedRoles: inheritedRoles.optional(),
});
export const updateCustomRoleSchema = createCustomRoleSchema.omit({ roleName: true });

export const setLimitSchema = z.strictObject({
  value: z.number().int(),
  name: z.string().optional(),
  currentUsage: z.number().optional(),
  defaultLimit: z.number().optional(),
  maximumLimit: z.number().optional(),
});

export const orgUserRequestSchema = z.strictObject({
  username: z.email(),
  roles: z.strictObject({
    orgRoles: z.array(z.string()),
    groupRoleAssignments: z
      .array(z.strictObject({ groupId: objectId, groupRoles: z.array(z.string()) }))
      .optional(),
  }),
  teamIds: z.array(objectId).optional(),
});

export const groupUserRequestSchema = z.strictObject({
  username: z.email(),
  roles: z.array(z.string()).min(1),
});
export const orgRoleBodySchema = z.strictObject({ orgRole: z.string() });
export const groupRoleBodySchema = z.strictObject({ groupRole: z.string() });
export const teamUserBodySchema = z.strictObject({ id: objectId });

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function issueToError(issue: z.core.$ZodIssue, body: unknown): AtlasHttpError {
  const field = fieldPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = fieldPath([...issue.path, issue.keys[0] ?? '']);
    return fieldError('INVALID_ATTRIBUTE', key, 'is not a known attribute');
  }
  if (valueAt(body, issue.path) === undefined) return fieldError('MISSING_ATTRIBUTE', field, 'is required');
  if (issue.code === 'invalid_value') {
    return fieldError('INVALID_ENUM_VALUE', field, issue.message, String(valueAt(body, issue.path)));
  }
  return fieldError('INVALID_ATTRIBUTE', field, issue.message);
}

/** Validates a JSON body; the first problem becomes Atlas's 400 with `badRequestDetail`. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw atlasError('INVALID_JSON');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw first ? issueToError(first, body) : atlasError('INVALID_JSON');
}
