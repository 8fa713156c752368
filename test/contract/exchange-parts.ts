import type { SpecOperation } from './spec-loader.js';
import type { HttpExchange } from './openapi-validator.js';

/** Pure helpers of the validator: operation matching, media types, query coercion. */

export const vendorType = /^application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2}|preview)\+json$/;

export interface Matched {
  readonly op: SpecOperation;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
}

export function matchOperation(
  operations: readonly SpecOperation[],
  method: string,
  url: string,
): Matched | undefined {
  const parsed = new URL(url, 'http://atlas.invalid');
  let best: { op: SpecOperation; values: string[] } | undefined;
  for (const op of operations) {
    if (op.method !== method.toUpperCase()) continue;
    const m = op.pattern.exec(parsed.pathname);
    if (m && (!best || op.weight > best.op.weight)) best = { op, values: m.slice(1) };
  }
  if (!best) return undefined;
  const params: Record<string, string> = {};
  best.op.paramNames.forEach((name, i) => {
    params[name] = decodeURIComponent(best.values[i] ?? '');
  });
  return { op: best.op, params, query: parsed.searchParams };
}

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Versions an operation serves: every vendor media type any of its 2xx responses declares. */
export function declaredVersions(op: SpecOperation): string[] {
  const versions = new Set<string>();
  for (const [status, content] of op.responses) {
    if (!status.startsWith('2')) continue;
    for (const type of Object.keys(content)) {
      const version = vendorType.exec(type)?.[1];
      if (version) versions.add(version);
    }
  }
  return [...versions];
}

/**
 * The version an operation serves for a requested date: the newest it declares not later than
 * that date (the spec's own example asks `GET /orgs`, 2023-01-01 only, for 2025-03-12).
 */
export function servedVersion(op: SpecOperation, requested: string | undefined): string | undefined {
  if (requested === undefined || requested === 'preview') return requested;
  return declaredVersions(op)
    .filter((v) => v !== 'preview' && v <= requested)
    .sort()
    .pop();
}

export function requestedVersion(exchange: HttpExchange): string | undefined {
  const accept = exchange.requestHeaders.accept ?? exchange.requestHeaders.Accept;
  return (accept ?? '')
    .split(',')
    .map((part) => vendorType.exec(mediaType(part))?.[1])
    .find((v) => v !== undefined);
}

export function coerce(raw: string[], schema: Record<string, unknown> | undefined): unknown {
  const single = (value: string, type: unknown): unknown => {
    if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
    return value;
  };
  // Every array parameter of the spec is `style: form, explode: true` (the OpenAPI default): one
  // value per repetition (`s=A&s=B`). A comma-joined `s=A,B` is one value, as Atlas reads it.
  if (schema?.type === 'array') {
    const items = schema.items as Record<string, unknown> | undefined;
    return raw.map((v) => single(v, items?.type));
  }
  return single(raw[0] ?? '', schema?.type);
}
