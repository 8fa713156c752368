import { serialize, type Document } from 'bson';
import type { StoredDocument } from '../../atlas/cluster-data.js';
import { commandErrors } from '../command-error.js';

/** BSON equality: same type and bytes, as the server compares an _id or a field for `$eq`. */
export function sameValue(a: unknown, b: unknown): boolean {
  return Buffer.from(serialize({ v: a })).equals(serialize({ v: b }));
}

function isOperatorObject(value: unknown): value is Document {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0 &&
    Object.keys(value).every((k) => k.startsWith('$'))
  );
}

function matchesCondition(actual: unknown, condition: unknown): boolean {
  if (!isOperatorObject(condition)) return sameValue(actual, condition);
  return Object.entries(condition).every(([op, operand]) => {
    if (op === '$eq') return sameValue(actual, operand);
    if (op === '$ne') return !sameValue(actual, operand);
    if (op === '$in' && Array.isArray(operand)) return operand.some((v) => sameValue(actual, v));
    if (op === '$exists') return (actual !== undefined) === Boolean(operand);
    throw commandErrors.badValue(
      `unknown operator: ${op} (the sandbox endpoint supports $eq, $ne, $in, $exists)`,
    );
  });
}

/**
 * The subset of query filters the sandbox serves: top-level fields compared by equality or with
 * `$eq`, `$ne`, `$in`, `$exists`. Anything else is a clear BadValue rather than a wrong answer.
 */
export function matches(doc: StoredDocument, filter: Document): boolean {
  return Object.entries(filter).every(([field, condition]) => {
    if (field.startsWith('$')) throw commandErrors.badValue(`unknown top level operator: ${field}`);
    return matchesCondition(doc[field], condition);
  });
}
