import { isObject, schemaRefName, type JsonObject } from './json-schema-utils.js';

/**
 * Where the spec disagrees with what Atlas demonstrably sends, the validator follows Atlas. Each
 * correction says why; keep the list short and evidenced.
 */
export const specCorrections: readonly {
  readonly name: string;
  readonly reason: string;
  readonly apply: (schemas: Record<string, JsonObject>) => void;
}[] = [
  {
    name: 'ApiError.parameters',
    reason:
      'items are declared `type: object`, but Atlas returns the message arguments as strings and numbers (documented 429 example: ["api/atlas/v2/orgs",55,10,5,60])',
    apply: (schemas) => {
      const props = schemas.ApiError?.properties;
      if (isObject(props)) props.parameters = { type: 'array', items: {} };
    },
  },
  {
    name: 'AtlasOrganization.name',
    reason:
      'the pattern omits the space, yet Atlas\'s own default organization names contain one ("Jane\'s Org", which is why the apostrophe is allowed)',
    apply: (schemas) => {
      const name = schemas.AtlasOrganization?.properties;
      if (isObject(name) && isObject(name.name)) name.name.pattern = "^[\\p{L}\\p{N}\\-_.(),:&@+' ]{1,64}$";
    },
  },
  {
    name: 'DatabaseUserRole.roleName',
    reason:
      'the enum lists the placeholder "<a custom role name>": any custom role of the project is a valid value',
    apply: (schemas) => {
      const props = schemas.DatabaseUserRole?.properties;
      if (isObject(props)) props.roleName = { type: 'string' };
    },
  },
  {
    name: 'CloudDatabaseUser.groupId',
    reason:
      'marked writeOnly (and required), yet Atlas returns groupId in database-user responses, as its v1 and v2 response examples and atlas-sdk-go show',
    apply: (schemas) => {
      const props = schemas.CloudDatabaseUser?.properties;
      if (isObject(props)) props.groupId = { type: 'string', pattern: '^([a-f0-9]{24})$' };
    },
  },
  {
    name: 'type: object over string enums',
    reason:
      'about 20 schemas (regionName, eventTypeName, EventTypeForNdsGroup…) say `type: object` with a oneOf of string enums, an artefact of the generator; Atlas sends and accepts plain strings there',
    apply: (schemas) => relaxObjectTypedEnumUnions(schemas, schemas, 0),
  },
];

function deref(schemas: Record<string, JsonObject>, value: unknown): JsonObject | undefined {
  let current = value;
  for (let i = 0; i < 10 && isObject(current) && typeof current.$ref === 'string'; i += 1) {
    current = schemas[schemaRefName(current.$ref) ?? ''];
  }
  return isObject(current) ? current : undefined;
}

function relaxObjectTypedEnumUnions(schemas: Record<string, JsonObject>, node: unknown, depth: number): void {
  if (depth > 40) return;
  if (Array.isArray(node)) {
    for (const item of node) relaxObjectTypedEnumUnions(schemas, item, depth + 1);
    return;
  }
  if (!isObject(node)) return;
  const union = Array.isArray(node.oneOf) ? node.oneOf : Array.isArray(node.anyOf) ? node.anyOf : undefined;
  const scalar = (m: unknown): boolean => {
    const type = deref(schemas, m)?.type;
    return typeof type === 'string' && type !== 'object';
  };
  if (node.type === 'object' && union && union.every(scalar)) delete node.type;
  for (const value of Object.values(node)) relaxObjectTypedEnumUnions(schemas, value, depth + 1);
}
