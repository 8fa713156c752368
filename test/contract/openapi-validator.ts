import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import {
  coerce,
  declaredVersions,
  matchOperation,
  mediaType,
  requestedVersion,
  servedVersion,
  type Matched,
} from './exchange-parts.js';
import { SchemaWalker } from './schema-walk.js';
import {
  defaultSpecPath,
  loadSpecFile,
  refId,
  schemaRefName,
  toJsonSchema,
  type Content,
  type Direction,
  type LoadedSpec,
} from './spec-loader.js';

export { specCorrections } from './spec-corrections.js';

/**
 * Checks HTTP exchanges against the official Atlas Admin API v2 spec: the operation exists, the
 * Accept date is one it declares, parameters and bodies match their schemas (and carry no
 * undeclared properties), statuses are declared, and responses use the right media type.
 * Works for any client's traffic, not only the simulator's.
 */

export interface HttpExchange {
  readonly method: string;
  /** Path and query, e.g. `/api/atlas/v2/groups?pageNum=2`. */
  readonly url: string;
  readonly requestHeaders: Readonly<Record<string, string | undefined>>;
  readonly requestBody?: unknown;
  /** 0 means the connection was reset: nothing to check on the response side. */
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string | undefined>>;
  readonly responseBody?: unknown;
}

export interface AtlasSpec {
  readonly loaded: LoadedSpec;
  readonly ajv: Ajv;
  readonly compiled: Map<string, ValidateFunction>;
  readonly walkers: Record<Direction, SchemaWalker>;
}

/** Error statuses any operation may answer even where the spec does not list them. */
const genericErrorStatuses = new Set([400, 401, 403, 404, 406, 410, 415, 429, 500, 502, 503, 504]);

// Parsing 4 MB of YAML takes a few seconds; one parse per test file (module instance) is enough.
const cache = new Map<string, AtlasSpec | undefined>();

export function loadAtlasSpec(specPath: string = defaultSpecPath): AtlasSpec | undefined {
  if (cache.has(specPath)) return cache.get(specPath);
  const loaded = loadSpecFile(specPath);
  const spec = loaded ? buildSpec(loaded) : undefined;
  cache.set(specPath, spec);
  return spec;
}

function buildSpec(loaded: LoadedSpec): AtlasSpec {
  // Patterns such as `\:` are invalid with the `u` flag; fall back to a non-unicode RegExp for those.
  const regExp = Object.assign(
    (pattern: string, flags: string) => {
      try {
        return new RegExp(pattern, flags);
      } catch {
        return new RegExp(pattern, flags.replace('u', ''));
      }
    },
    { code: 'new RegExp' },
  );
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, code: { regExp } });
  // ajv-formats is CommonJS: under NodeNext its default import is the module, whose `default` is the plugin.
  addFormatsPlugin.default(ajv);
  for (const format of ['int32', 'int64', 'float', 'double', 'password', 'binary', 'byte'])
    ajv.addFormat(format, true);
  for (const direction of ['request', 'response'] as const) {
    ajv.addSchema({ $id: `atlas-${direction}`, components: { schemas: loaded.schemas[direction] } });
  }
  return {
    loaded,
    ajv,
    compiled: new Map(),
    walkers: {
      request: new SchemaWalker(loaded.schemas, 'request'),
      response: new SchemaWalker(loaded.schemas, 'response'),
    },
  };
}

function validator(spec: AtlasSpec, key: string, schema: unknown, direction: Direction): ValidateFunction {
  const cached = spec.compiled.get(`${direction}:${key}`);
  if (cached) return cached;
  const compiled = spec.ajv.compile(toJsonSchema(schema, direction) as object);
  spec.compiled.set(`${direction}:${key}`, compiled);
  return compiled;
}

function describeErrors(where: string, errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${where}${e.instancePath} ${e.message ?? e.keyword}${e.params && 'allowedValues' in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`,
    );
}

function checkValue(
  spec: AtlasSpec,
  key: string,
  schema: unknown,
  value: unknown,
  direction: Direction,
  where: string,
): string[] {
  const validate = validator(spec, key, schema, direction);
  const problems = validate(value) ? [] : describeErrors(where, validate.errors);
  spec.walkers[direction].check(
    schema === undefined ? {} : toJsonSchema(schema, direction),
    value,
    where,
    problems,
  );
  return problems;
}

function checkParameters(spec: AtlasSpec, m: Matched): string[] {
  const problems: string[] = [];
  const { op } = m;
  for (const p of op.parameters.filter((p) => p.in === 'path')) {
    const value = m.params[p.name];
    if (value !== undefined && p.schema)
      problems.push(
        ...checkValue(
          spec,
          `${op.operationId}:path:${p.name}`,
          p.schema,
          value,
          'request',
          `request path {${p.name}}`,
        ),
      );
  }
  const declared = new Map(op.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]));
  for (const name of new Set(m.query.keys())) {
    const p = declared.get(name);
    if (!p) {
      problems.push(`request query parameter ${name} is not declared by ${op.operationId}`);
      continue;
    }
    if (p.schema)
      problems.push(
        ...checkValue(
          spec,
          `${op.operationId}:query:${name}`,
          p.schema,
          coerce(m.query.getAll(name), p.schema),
          'request',
          `request query ${name}`,
        ),
      );
  }
  return problems;
}

function checkRequestBody(spec: AtlasSpec, m: Matched, exchange: HttpExchange): string[] {
  const body = m.op.requestBody;
  const sent = exchange.requestBody !== undefined && exchange.requestBody !== '';
  if (!body) return sent ? [`request body sent to ${m.op.operationId}, which takes none`] : [];
  if (!sent) return body.required ? [`request body missing for ${m.op.operationId}`] : [];
  const type = mediaType(exchange.requestHeaders['content-type'] ?? exchange.requestHeaders['Content-Type']);
  const declared = body.content[type];
  if (!declared)
    return [`request Content-Type ${type || '(none)'} is not one of ${Object.keys(body.content).join(', ')}`];
  if (!declared.schema) return [];
  return checkValue(
    spec,
    `${m.op.operationId}:body:${type}`,
    declared.schema,
    exchange.requestBody,
    'request',
    'request body',
  );
}

/** The spec covers `/api/atlas/v2`; the OAuth endpoints (`/api/oauth/*`) are outside it. */
function outsideSpec(exchange: HttpExchange): boolean {
  return !/^\/api\/atlas\/v2(\/|\?|$)/.test(exchange.url);
}

/** Request-side violations: operation, Accept version, parameters, body. */
export function validateRequest(spec: AtlasSpec, exchange: HttpExchange): string[] {
  if (outsideSpec(exchange)) return [];
  const m = matchOperation(spec.loaded.operations, exchange.method, exchange.url);
  if (!m)
    return [
      `request ${exchange.method} ${exchange.url.split('?')[0] ?? ''} matches no operation in the spec`,
    ];
  const versions = declaredVersions(m.op);
  const version = requestedVersion(exchange);
  const problems: string[] = [];
  if (version === undefined || !versions.includes(version)) {
    problems.push(
      `request Accept names ${version ?? 'no versioned media type'}; ${m.op.operationId} declares ${versions.join(', ')}`,
    );
  }
  return [...problems, ...checkParameters(spec, m), ...checkRequestBody(spec, m, exchange)];
}

function responseContent(m: Matched, status: number): Content | undefined {
  return m.op.responses.get(String(status)) ?? m.op.responses.get('default');
}

/** Response-side violations: declared status, media type, body schema. */
export function validateResponse(spec: AtlasSpec, exchange: HttpExchange): string[] {
  const m = matchOperation(spec.loaded.operations, exchange.method, exchange.url);
  if (!m || exchange.status === 0 || outsideSpec(exchange)) return [];
  const { status } = exchange;
  const declared = responseContent(m, status);
  const type = mediaType(exchange.responseHeaders['content-type']);
  const hasBody = exchange.responseBody !== undefined && exchange.responseBody !== '';
  if (status < 400) {
    if (!declared) return [`response status ${status} is not declared by ${m.op.operationId}`];
    if (status === 204) return hasBody ? ['response 204 carries a body'] : [];
    const expected = `application/vnd.atlas.${servedVersion(m.op, requestedVersion(exchange)) ?? '?'}+json`;
    if (type !== expected) return [`response Content-Type ${type || '(none)'} should be ${expected}`];
    const schema = declared[type]?.schema;
    if (!schema) return declared[type] ? [] : [`response media type ${type} is not declared for ${status}`];
    return checkValue(
      spec,
      `${m.op.operationId}:${status}:${type}`,
      schema,
      exchange.responseBody,
      'response',
      'response body',
    );
  }
  const problems: string[] = [];
  if (!declared && !genericErrorStatuses.has(status))
    problems.push(`response status ${status} is not declared by ${m.op.operationId}`);
  if (type !== 'application/json')
    problems.push(`response Content-Type ${type || '(none)'} should be application/json for an error`);
  const schema = declared?.['application/json']?.schema ?? { $ref: '#/components/schemas/ApiError' };
  const key =
    schemaRefName(String((schema as { $ref?: unknown }).$ref ?? '')) ?? `${m.op.operationId}:${status}`;
  problems.push(
    ...checkValue(spec, `error:${key}`, schema, exchange.responseBody, 'response', 'response body'),
  );
  return problems;
}

/** Both sides, each violation prefixed with `request` or `response`. */
export function validateExchange(spec: AtlasSpec, exchange: HttpExchange): string[] {
  return [...validateRequest(spec, exchange), ...validateResponse(spec, exchange)];
}

/** The JSON Schema id of a spec component, for ad-hoc checks in tests. */
export function componentSchemaId(direction: Direction, name: string): string {
  return refId(direction, name);
}
