/**
 * Every error the simulator can answer with, in one table: HTTP status and Atlas's detail template
 * (`%s`/`%d` are filled from the parameters, which Atlas also echoes in `parameters`). Templates are
 * quoted from Atlas's published error-code list where it has the code; the few marked "sim" are
 * our best guess for behaviour Atlas does not document (see docs/atlas-simulator.md).
 */
const catalog = {
  // 400
  ATLAS_CUSTOM_ROLE_HAS_NO_PERMISSIONS: [
    400,
    'Custom roles must have one or more user privilege actions or inherited roles.',
  ],
  ATLAS_CUSTOM_ROLE_INVALID_NAME: [
    400,
    'The role name, "%s", is invalid. A custom role name must be a non-empty string made up of only ASCII letters, numbers, hyphens, and underscores, and should begin with a letter or number.',
  ],
  ATLAS_DUPLICATE_CUSTOM_ROLE_ACTION: [400, 'A custom role cannot have duplicate actions.'],
  ATLAS_DUPLICATE_CUSTOM_ROLE_RESOURCE: [
    400,
    'A custom role cannot have duplicate resources applied to the same action.',
  ],
  ATLAS_INVALID_CUSTOM_ROLE_CIRCULAR_DEPENDENCY: [
    400,
    'One or more of the specified inherited roles creates a circular dependency.',
  ],
  ATLAS_INVALID_CUSTOM_ROLE_INHERITANCE: [400, 'One or more of the specified inherited roles do not exist.'],
  ATLAS_INVALID_CUSTOM_ROLE_INHERITED_SCOPE: [
    400,
    'One or more of the specified inherited roles have an invalid scope.',
  ],
  ATLAS_INVALID_CUSTOM_ROLE_RESTRICTED: [
    400,
    'Cannot create custom role %s because a built-in role with that name already exists.',
  ],
  ATLAS_INVALID_CUSTOM_ROLE_SELF_REFERENTIAL: [400, 'A custom DB role cannot inherit from itself.'],
  ATLAS_INVALID_ROLE: [400, 'The specified role %s@%s does not exist.'],
  ATLAS_INVALID_ROLE_DATABASE: [400, 'The specified role %s only exists for database %s.'],
  ATLAS_RESERVED_CUSTOM_ROLE_RESTRICTED: [
    400,
    'Cannot create custom role %s because the prefix "xgen-" is reserved for built-in roles.',
  ],
  ATLAS_X509_USER_CANNOT_BE_TEMPORARY: [400, 'X.509 users cannot be temporary.'],
  DATABASE_NAME_INVALID_ADMIN: [400, 'Database name invalid. %s can only be created on the admin database.'],
  DATABASE_NAME_INVALID_EXTERNAL: [
    400,
    'Database name invalid. Externally authenticated users can only be created on the $external database.',
  ],
  DUPLICATE_DATABASE_ROLES: [400, 'Duplicate database roles specified for user %s: %s.'],
  EXPIRATION_DATE_EXCEEDS_MAX: [400, 'The specified expiration date can be at most %d days in the future.'],
  EXPIRATION_DATE_IN_PAST: [400, 'The specified expiration date must be in the future.'],
  GROUP_MISMATCH: [400, 'The specified group ID %s does not match the URL.'],
  INVALID_ATTRIBUTE: [400, 'Invalid attribute %s specified.'],
  INVALID_ENUM_VALUE: [400, 'An invalid enumeration value %s was specified.'],
  INVALID_JSON: [400, 'Received JSON does not match expected format.'],
  INVALID_QUERY_PARAMETER: [400, 'Invalid query parameter %s specified.'],
  INVALID_ROLE_FOR_GROUP: [400, 'Role %s is invalid for group %s.'],
  INVALID_ROLE_FOR_ORG: [400, 'Role %s invalid for organization %s.'],
  INVITATIONS_RATE_LIMITED_IP: [400, 'Rate limit of %d invitations per %d minutes exceeded.'],
  MALFORMED_JSON: [400, 'Received JSON is malformed.'],
  MISSING_ATTRIBUTE: [400, 'The required attribute %s was not specified.'],
  PERMANENT_ENTITY_CANNOT_BE_MADE_TEMPORARY: [400, 'A permanent entity cannot be made temporary.'],
  VALIDATION_ERROR: [400, 'The request content produced the validation error: %s.'],
  // 401
  UNAUTHORIZED: [401, 'You are not authorized for this resource.'], // sim: body of a failed Digest/Bearer check
  USER_UNAUTHORIZED: [401, 'Current user is not authorized to perform this action.'],
  // 403
  CANNOT_DEMOTE_LAST_ORG_OWNER: [403, 'Cannot demote the last owner of the organization.'],
  CANNOT_DELETE_LAST_ADMIN: [403, 'An organization or project needs to have at least one owner.'],
  CANNOT_DEMOTE_LAST_OWNER: [403, 'Cannot demote the last owner of the project.'],
  CANNOT_DELETE_LAST_OWNER: [403, 'Cannot delete the last owner of the project.'],
  COLLECTION_ROLES_LIMIT_EXCEEDED: [
    403,
    'Exceeded maximum number of collection level permissions. This group can define at most %d collection level roles.',
  ],
  CUSTOM_ROLES_LIMIT_EXCEEDED: [403, 'Exceeded maximum number of custom roles.'],
  GROUP_USERS_LIMIT_EXCEEDED: [403, 'Groups can contain at most %d database users.'],
  USER_CANNOT_ACCESS_GROUP: [403, 'User cannot access this group.'],
  USER_CANNOT_ACCESS_ORG: [403, 'User cannot access this organization.'],
  // 404
  ATLAS_CUSTOM_ROLE_NOT_FOUND: [404, 'The specified custom db role %s does not exist.'],
  CLUSTER_NOT_FOUND: [404, 'No cluster named %s exists in group %s.'],
  GROUP_NAME_NOT_FOUND: [404, 'No group with name "%s" exists.'],
  GROUP_NOT_FOUND: [404, 'No group with ID %s exists.'],
  HOSTNAME_AND_PORT_NOT_FOUND: [404, 'No host with hostname and port %s exists in group %s.'],
  INVALID_GROUP_ID: [404, 'An invalid group ID %s was specified.'],
  INVALID_ORG_ID: [404, 'An invalid organization ID %s was specified.'],
  INVALID_TEAM_ID: [404, 'An invalid team ID %s was specified.'],
  INVALID_USER_ID: [404, 'An invalid user ID %s was specified.'],
  ORG_NOT_FOUND: [404, 'No organization with ID %s exists.'],
  RESOURCE_NOT_FOUND: [404, 'Cannot find resource %s.'],
  TEAM_NOT_FOUND: [404, 'No team with ID %s exists.'],
  USERNAME_NOT_FOUND: [404, 'No user with username %s exists.'],
  USER_NOT_FOUND: [404, 'No user with ID %s exists.'],
  USER_NOT_IN_GROUP: [404, 'User %s is not in group %s.'],
  USER_NOT_IN_ORG: [404, 'User %s is not in organization %s.'],
  // 406 / 409 / 410 / 415
  INVALID_VERSION_DATE: [406, 'Invalid accept header or version date.'],
  ATLAS_CUSTOM_ROLE_IN_USE_BY_ROLES: [
    409,
    'Deleting specified custom role would leave the following roles with no actions or inherited roles: %s.',
  ],
  ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS: [
    409,
    'Deleting specified custom role would leave the following users without a role: %s.',
  ],
  ATLAS_CUSTOM_ROLE_NAME_ALREADY_EXISTS: [409, 'A custom role with the name %s already exists.'],
  AUTH_TYPE_CANNOT_BE_CHANGED: [409, 'Cannot modify the authentication type of an existing database user.'],
  DATABASE_NAME_CANNOT_BE_CHANGED: [
    409,
    'Cannot modify the authentication database of an existing database user.',
  ],
  DATABASE_USERNAME_CANNOT_BE_CHANGED: [409, 'Cannot modify the username of an existing database user.'],
  MULTIPLE_GROUPS: [409, 'Multiple groups exist with the specified name.'],
  USER_ALREADY_EXISTS: [409, 'A user with username %s already exists.'],
  VERSION_GONE: [
    410,
    'This happens when a resource is marked for sunset and the sunset date is in the past.',
  ],
  UNSUPPORTED_MEDIA_TYPE: [415, 'Unsupported Content-Type %s; send %s.'], // sim: Atlas's 415 body is undocumented
  // 429 / 5xx
  RATE_LIMITED: [429, 'Resource %s is limited to %d requests every %d minutes.'],
  RATE_LIMITED_TOKEN_BUCKET: [
    429,
    'Rate limit exceeded for %s. Please retry after %d seconds. Request capacity: %d. Refill rate: %d per %d seconds.',
  ],
  UNEXPECTED_ERROR: [500, 'Unexpected error.'],
  BAD_GATEWAY: [502, 'Bad gateway.'], // sim: injected fault
  SERVICE_UNAVAILABLE: [503, 'Service unavailable.'],
  GATEWAY_TIMEOUT: [504, 'Gateway timeout.'], // sim: injected fault
} as const satisfies Record<string, readonly [number, string]>;

export type AtlasErrorCode = keyof typeof catalog;

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export interface ApiErrorBody {
  readonly error: number;
  readonly errorCode: string;
  readonly detail: string | null;
  readonly reason: string | null;
  readonly parameters: readonly unknown[];
  readonly badRequestDetail?: { readonly fields: readonly FieldViolation[] };
}

const reasons: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return reasons[status] ?? 'Error';
}

/** A failure that becomes an Atlas error envelope; thrown from anywhere in the request pipeline. */
export class AtlasHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    readonly detail: string,
    readonly parameters: readonly (string | number)[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
    readonly fields: readonly FieldViolation[] = [],
  ) {
    super(`${status} ${errorCode}: ${detail}`);
    this.name = 'AtlasHttpError';
  }

  toBody(): ApiErrorBody {
    const body: ApiErrorBody = {
      detail: this.detail,
      error: this.status,
      errorCode: this.errorCode,
      parameters: this.parameters,
      reason: reasonPhrase(this.status),
    };
    return this.fields.length > 0 ? { ...body, badRequestDetail: { fields: this.fields } } : body;
  }

  withHeaders(headers: Record<string, string>): AtlasHttpError {
    return new AtlasHttpError(
      this.status,
      this.errorCode,
      this.detail,
      this.parameters,
      {
        ...this.headers,
        ...headers,
      },
      this.fields,
    );
  }
}

function fill(template: string, params: readonly (string | number)[]): string {
  let i = 0;
  return template.replace(/%[sd]/g, () => String(params[i++] ?? ''));
}

export function atlasError(code: AtlasErrorCode, ...params: (string | number)[]): AtlasHttpError {
  const [status, template] = catalog[code];
  return new AtlasHttpError(status, code, fill(template, params), params);
}

/** A 400 that names the offending field in `badRequestDetail`, as Atlas does for schema violations. */
export function fieldError(
  code: 'INVALID_ATTRIBUTE' | 'MISSING_ATTRIBUTE' | 'INVALID_ENUM_VALUE' | 'VALIDATION_ERROR',
  field: string,
  description: string,
  param: string = field,
): AtlasHttpError {
  const [status, template] = catalog[code];
  return new AtlasHttpError(status, code, fill(template, [param]), [param], {}, [{ field, description }]);
}

/** Whether `code` is one of the Atlas error codes this simulator knows. */
export function isAtlasErrorCode(code: string): code is AtlasErrorCode {
  return Object.hasOwn(catalog, code);
}
