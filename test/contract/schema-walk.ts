import { refId, type Direction } from './spec-loader.js';

/**
 * Finds properties a JSON value carries that its schema does not declare. OpenAPI schemas rarely
 * say `additionalProperties: false`, so plain JSON Schema validation would let a misspelt or
 * invented field through; Atlas refuses unknown request attributes (INVALID_ATTRIBUTE), and a
 * simulator must not invent response fields, so both directions are checked.
 */

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class SchemaWalker {
  constructor(
    private readonly schemas: Readonly<Record<Direction, Record<string, unknown>>>,
    private readonly direction: Direction,
  ) {}

  private deref(schema: unknown, depth = 0): Schema | undefined {
    if (!isObject(schema)) return undefined;
    const ref = schema.$ref;
    if (typeof ref !== 'string' || depth > 20) return schema;
    const prefix = refId(this.direction, '');
    const target = ref.startsWith(prefix)
      ? this.schemas[this.direction][ref.slice(prefix.length)]
      : undefined;
    return this.deref(target, depth + 1);
  }

  /** Every schema that applies to an object through $ref/allOf/anyOf (a union, to stay lenient). */
  private members(schema: unknown, out: Schema[] = [], seen = new Set<Schema>()): Schema[] {
    const s = this.deref(schema);
    if (!s || seen.has(s)) return out;
    seen.add(s);
    out.push(s);
    for (const key of ['allOf', 'anyOf', 'oneOf']) {
      const list = s[key];
      if (Array.isArray(list)) for (const part of list) this.members(part, out, seen);
    }
    return out;
  }

  check(schema: unknown, value: unknown, path: string, out: string[]): void {
    const members = this.members(schema);
    if (Array.isArray(value)) {
      const items = members.flatMap((m) => (m.items === undefined ? [] : [m.items]));
      if (items.length > 0) value.forEach((v, i) => this.check({ anyOf: items }, v, `${path}[${i}]`, out));
      return;
    }
    if (!isObject(value)) return;
    const declared = new Map<string, unknown[]>();
    let open = members.length === 0;
    for (const m of members) {
      if (m.additionalProperties !== undefined && m.additionalProperties !== false) open = true;
      if (isObject(m.properties)) {
        for (const [name, sub] of Object.entries(m.properties))
          declared.set(name, [...(declared.get(name) ?? []), sub]);
      }
    }
    // A schema with no properties anywhere is a free-form object.
    if (declared.size === 0) open = true;
    for (const [key, sub] of Object.entries(value)) {
      const candidates = declared.get(key);
      if (!candidates) {
        if (!open) out.push(`${path}.${key} is not declared by the schema`);
        continue;
      }
      if (candidates.every((c) => this.deref(c)?.writeOnlyProperty === true)) {
        out.push(`${path}.${key} is writeOnly and must not appear in a ${this.direction}`);
        continue;
      }
      this.check({ anyOf: candidates }, sub, `${path}.${key}`, out);
    }
  }
}
