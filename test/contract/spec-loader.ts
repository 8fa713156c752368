import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { isObject, schemaRefName, type JsonObject } from './json-schema-utils.js';
import { specCorrections } from './spec-corrections.js';

export { isObject, schemaRefName, type JsonObject } from './json-schema-utils.js';

/**
 * Loads the official Atlas Admin API v2 OpenAPI 3.0 spec and turns its schemas into JSON Schema
 * that ajv understands, once per direction: in requests `readOnly` properties are not required,
 * in responses `writeOnly` ones are not (OpenAPI semantics). The spec file is reference data that
 * stays outside the repository; nothing here copies it.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const defaultSpecPath = path.resolve(repoRoot, '../shared/atlas-admin-api/atlas-admin-api-v2.yaml');

export type Direction = 'request' | 'response';

const schemaObject = z.record(z.string(), z.unknown());
const parameterSchema = z.object({
  name: z.string(),
  in: z.enum(['path', 'query', 'header', 'cookie']),
  required: z.boolean().optional(),
  schema: schemaObject.optional(),
});
const contentSchema = z.record(
  z.string(),
  z.object({
    schema: schemaObject.optional(),
    'x-sunset': z.string().optional(),
    /** Named request examples: bodies the spec says Atlas takes. */
    examples: z.record(z.string(), z.object({ value: z.unknown() })).optional(),
  }),
);
const operationSchema = z.object({
  operationId: z.string(),
  'x-rolesRequirements': z.array(z.string()).optional(),
  parameters: z.array(z.union([z.object({ $ref: z.string() }), parameterSchema])).optional(),
  requestBody: z.object({ content: contentSchema.optional(), required: z.boolean().optional() }).optional(),
  responses: z.record(
    z.string(),
    z.union([z.object({ $ref: z.string() }), z.object({ content: contentSchema.optional() })]),
  ),
});
const specSchema = z.object({
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  components: z.object({
    schemas: z.record(z.string(), schemaObject),
    parameters: z.record(z.string(), parameterSchema),
    responses: z.record(z.string(), z.object({ content: contentSchema.optional() })),
  }),
});

export type Parameter = z.infer<typeof parameterSchema>;
export type Content = z.infer<typeof contentSchema>;

export interface SpecOperation {
  readonly method: string;
  readonly template: string;
  readonly operationId: string;
  /** The spec's `x-rolesRequirements`: the least roles that may call it (empty: any credential). */
  readonly rolesRequirements: readonly string[];
  readonly parameters: readonly Parameter[];
  readonly requestBody?: { readonly content: Content; readonly required: boolean };
  /** Status (or `default`) → media type → schema. */
  readonly responses: ReadonlyMap<string, Content>;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly weight: number;
}

const droppedKeywords = new Set([
  'discriminator',
  'readOnly',
  'writeOnly',
  'example',
  'examples',
  'externalDocs',
  'xml',
  'deprecated',
  'description',
  'title',
  'nullable',
]);

export function refId(direction: Direction, name: string): string {
  return `atlas-${direction}#/components/schemas/${name}`;
}

/** OpenAPI 3.0 schema → JSON Schema for one direction (see the module comment). */
export function toJsonSchema(schema: unknown, direction: Direction): unknown {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(s, direction));
  if (!isObject(schema)) return schema;
  if (typeof schema.$ref === 'string') {
    const name = schemaRefName(schema.$ref);
    return name ? { $ref: refId(direction, name) } : { $ref: schema.$ref };
  }
  const out: JsonObject = {};
  const hidden = direction === 'request' ? 'readOnly' : 'writeOnly';
  for (const [key, value] of Object.entries(schema)) {
    if (droppedKeywords.has(key) || key.startsWith('x-')) continue;
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          writeOnlyInResponse(v, direction) ? { writeOnlyProperty: true } : toJsonSchema(v, direction),
        ]),
      );
    } else if (key === 'required' && Array.isArray(value)) {
      const props = isObject(schema.properties) ? schema.properties : {};
      out.required = value.filter(
        (name) => !(isObject(props[String(name)]) && (props[String(name)] as JsonObject)[hidden] === true),
      );
    } else {
      // oneOf → anyOf: the spec's oneOf branches overlap (events, region configs) without a usable discriminator.
      out[key === 'oneOf' ? 'anyOf' : key] =
        typeof value === 'object' ? toJsonSchema(value, direction) : value;
    }
  }
  return schema.nullable === true ? nullable(out) : out;
}

/** A writeOnly property (a password, say) must never come back; the walker reports it if it does. */
function writeOnlyInResponse(schema: unknown, direction: Direction): boolean {
  return direction === 'response' && isObject(schema) && schema.writeOnly === true;
}

function nullable(schema: JsonObject): JsonObject {
  if (typeof schema.type === 'string') {
    const withNull: JsonObject = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum)) withNull.enum = [...schema.enum, null];
    return withNull;
  }
  return { anyOf: [schema, { type: 'null' }] };
}

/**
 * Breaks the spec's discriminator cycles: `OrgUserResponse` lists `OrgActiveUserResponse` in its
 * oneOf, which lists `OrgUserResponse` in its allOf. Branches get a `__base` copy without oneOf.
 */
function breakDiscriminatorCycles(schemas: Record<string, JsonObject>): void {
  for (const [name, schema] of Object.entries(schemas)) {
    if (!Array.isArray(schema.oneOf)) continue;
    const { oneOf: _oneOf, discriminator: _d, ...base } = schema;
    let needsBase = false;
    for (const branch of schema.oneOf) {
      const branchName =
        isObject(branch) && typeof branch.$ref === 'string' ? schemaRefName(branch.$ref) : undefined;
      const target = branchName ? schemas[branchName] : undefined;
      if (!target || !Array.isArray(target.allOf)) continue;
      target.allOf = target.allOf.map((part) => {
        if (isObject(part) && part.$ref === `#/components/schemas/${name}`) {
          needsBase = true;
          return { $ref: `#/components/schemas/${name}__base` };
        }
        return part;
      });
    }
    if (needsBase) schemas[`${name}__base`] = base;
  }
}

function templateRegExp(template: string): { pattern: RegExp; names: string[]; weight: number } {
  const names: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(name);
      return '([^/]+)';
    })
    .join('');
  return { pattern: new RegExp(`^${source}/?$`), names, weight: template.replace(/\{[^}]+\}/g, '').length };
}

export interface LoadedSpec {
  readonly operations: readonly SpecOperation[];
  readonly schemas: Readonly<Record<Direction, Record<string, unknown>>>;
}

function resolveParameter(
  p: unknown,
  components: z.infer<typeof specSchema>['components'],
): Parameter | undefined {
  if (isObject(p) && typeof p.$ref === 'string') return components.parameters[p.$ref.split('/').pop() ?? ''];
  const parsed = parameterSchema.safeParse(p);
  return parsed.success ? parsed.data : undefined;
}

function indexOperations(doc: z.infer<typeof specSchema>): SpecOperation[] {
  const operations: SpecOperation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = operationSchema.safeParse(raw);
      if (!op.success) continue;
      const responses = new Map<string, Content>();
      for (const [status, r] of Object.entries(op.data.responses)) {
        const resolved = '$ref' in r ? doc.components.responses[r.$ref.split('/').pop() ?? ''] : r;
        responses.set(status, resolved?.content ?? {});
      }
      const { pattern, names, weight } = templateRegExp(template);
      const parameters = (op.data.parameters ?? []).flatMap((p) => resolveParameter(p, doc.components) ?? []);
      const body = op.data.requestBody;
      operations.push({
        method: method.toUpperCase(),
        template,
        operationId: op.data.operationId,
        rolesRequirements: op.data['x-rolesRequirements'] ?? [],
        parameters,
        ...(body?.content
          ? { requestBody: { content: body.content, required: body.required ?? false } }
          : {}),
        responses,
        pattern,
        paramNames: names,
        weight,
      });
    }
  }
  return operations;
}

/** Parses the spec file, or returns undefined when it is not there. */
export function loadSpecFile(specPath: string): LoadedSpec | undefined {
  if (!existsSync(specPath)) return undefined;
  const doc = specSchema.parse(parse(readFileSync(specPath, 'utf8')));
  const raw = structuredClone(doc.components.schemas) as Record<string, JsonObject>;
  for (const correction of specCorrections) correction.apply(raw);
  breakDiscriminatorCycles(raw);
  const convert = (direction: Direction): Record<string, unknown> =>
    Object.fromEntries(Object.entries(raw).map(([name, s]) => [name, toJsonSchema(s, direction)]));
  return {
    operations: indexOperations(doc),
    schemas: { request: convert('request'), response: convert('response') },
  };
}

/**
 * The title of a suite that needs the spec. When the spec is missing the suite is skipped, and the
 * title says so and why, so the skip shows in the test report instead of passing unnoticed.
 */
export function specSuiteTitle(title: string, specFound: boolean): string {
  return specFound
    ? title
    : `${title} [SKIPPED: the official Atlas OpenAPI spec is not at ${defaultSpecPath}; see README "Tests"]`;
}
