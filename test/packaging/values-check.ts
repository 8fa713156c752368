import { Ajv } from 'ajv';
import { isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Problem } from './problem.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type SchemaNode = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates values against the chart's schema; one message per violation, empty when valid. */
export function schemaViolations(schema: object, values: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  if (validate(values)) return [];
  return (validate.errors ?? []).map((error) => {
    const where = error.instancePath || '(root)';
    const extra = isObject(error.params) && 'additionalProperty' in error.params;
    return `${where} ${error.message ?? 'is invalid'}${extra ? `: "${String(error.params.additionalProperty)}"` : ''}`;
  });
}

/** Helm's value merge: maps merge key by key, anything else (lists included) is replaced. */
export function mergeValues(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeValues(base[key], value);
  return merged;
}

/**
 * Every object schema that names its properties must also say whether others are allowed
 * (`additionalProperties`), so that a typo in a value is rejected rather than ignored.
 */
export function strictnessProblems(schema: SchemaNode, file: string): Problem[] {
  const problems: Problem[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${at}/${i}`));
    if (!isObject(node)) return;
    if (isObject(node.properties) && !('additionalProperties' in node)) {
      problems.push({
        check: 'schema-strictness',
        file,
        message: `${at || '(root)'} does not set additionalProperties`,
      });
    }
    for (const [key, child] of Object.entries(node)) walk(child, `${at}/${key}`);
  };
  walk(schema, '');
  if (schema.additionalProperties !== false) {
    problems.push({
      check: 'schema-strictness',
      file,
      message: 'the root must set additionalProperties: false',
    });
  }
  if (schema.$schema !== 'http://json-schema.org/draft-07/schema#') {
    problems.push({ check: 'schema-strictness', file, message: '$schema must be draft-07' });
  }
  return problems;
}

/**
 * helm-docs: every key of values.yaml (outside list items) has a comment block right above it
 * that contains a `# --` line.
 */
export function undocumentedKeys(valuesText: string, file: string): Problem[] {
  const lines = valuesText.split('\n');
  const problems: Problem[] = [];
  visit(parseDocument(valuesText), {
    Pair(_, pair, ancestors) {
      if (ancestors.some((node) => isSeq(node))) return visit.SKIP;
      const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
      const line = valuesText.slice(0, offset).split('\n').length;
      let documented = false;
      for (let i = line - 2; i >= 0 && /^\s*#/.test(lines[i] ?? ''); i -= 1) {
        if (/^\s*# --/.test(lines[i] ?? '')) documented = true;
      }
      if (!documented) {
        const keys = [...ancestors, pair]
          .filter(isPair)
          .map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
        problems.push({
          check: 'values-docs',
          file,
          line,
          message: `${keys.join('.')} has no "# --" comment`,
        });
      }
      return undefined;
    },
  });
  return problems;
}
