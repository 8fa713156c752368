import type { Action } from './go-template.js';

export interface ValuesReference {
  /** Keys below `.Values`, e.g. ['image', 'tag']. */
  readonly path: readonly string[];
  readonly line: number;
}

/** What `.` means at a point of the template. */
type Dot =
  | { readonly kind: 'root' }
  | { readonly kind: 'values'; readonly path: string[] }
  | { readonly kind: 'unknown' };

const ROOT: Dot = { kind: 'root' };
const UNKNOWN: Dot = { kind: 'unknown' };
const chainTerm = /(?<![\w)\]])(\$[A-Za-z_]\w*|\$)?((?:\.[A-Za-z_]\w*)+)/g;

/** Drops string literals so that e.g. "monitoring.coreos.com/v1" is not read as a field chain. */
function withoutLiterals(body: string): string {
  return body.replace(/"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'/g, '""');
}

class Resolver {
  private readonly variables = new Map<string, string[]>();

  /** The .Values path a field chain denotes here, if it denotes one. */
  resolve(dot: Dot, variable: string | undefined, chain: string): string[] | undefined {
    const keys = chain.slice(1).split('.');
    if (variable === undefined || variable === '$') {
      if (keys[0] === 'Values' && (variable === '$' || dot.kind !== 'values')) return keys.slice(1);
      if (variable === undefined && dot.kind === 'values') return [...dot.path, ...keys];
      return undefined;
    }
    const base = this.variables.get(variable);
    return base ? [...base, ...keys] : undefined;
  }

  /** Every .Values path read in one action body. */
  references(dot: Dot, body: string): string[][] {
    const paths: string[][] = [];
    for (const m of withoutLiterals(body).matchAll(chainTerm)) {
      const path = this.resolve(dot, m[1], m[2] ?? '');
      if (path && path.length > 0) paths.push(path);
    }
    return paths;
  }

  /** The dot inside `with <pipeline>`: known only when the pipeline is a single field chain. */
  dotOf(dot: Dot, pipeline: string): Dot {
    const m = /^(\$[A-Za-z_]\w*|\$)?((?:\.[A-Za-z_]\w*)+)$/.exec(pipeline.trim());
    const path = m ? this.resolve(dot, m[1], m[2] ?? '') : undefined;
    return path ? { kind: 'values', path } : UNKNOWN;
  }

  /**
   * `$a := .Values.x` binds $a so that `$a.y` resolves; any other assignment, and the variables
   * of `range $k, $v := ...` (list items), unbind.
   */
  assign(dot: Dot, declaration: string, bind: boolean): void {
    const m = /^\s*((?:\$\w*\s*,\s*)*\$\w*)\s*:?=\s*(.*)$/s.exec(declaration);
    if (!m?.[1]) return;
    const names = m[1].split(',').map((name) => name.trim());
    for (const name of names) this.variables.delete(name);
    const target = bind && names.length === 1 ? this.dotOf(dot, m[2] ?? '') : UNKNOWN;
    if (target.kind === 'values' && names[0]) this.variables.set(names[0], target.path);
  }
}

interface Frame {
  readonly kind: string;
  readonly outer: Dot;
}

/**
 * Every `.Values` path a template reads: literal `.Values.a.b` and `$.Values.a.b`, fields of a
 * variable bound to a values path (`$sm := .Values.metrics.serviceMonitor` ... `$sm.enabled`), and
 * relative fields inside `with .Values.x` (`.y` is `.Values.x.y`). Inside `range` the dot is a list
 * item, so relative fields there are not reported.
 */
export function valuesReferences(actions: readonly Action[]): ValuesReference[] {
  const resolver = new Resolver();
  const found: ValuesReference[] = [];
  const frames: Frame[] = [];
  let dot: Dot = ROOT;
  for (const action of actions) {
    if (action.kind === 'comment') continue;
    const body = action.body.trim();
    const pipeline = body.replace(/^(if|with|range|define|block|else\s+if|else\s+with|else|end)\b/, '');
    const outer = action.kind === 'else' ? (frames.at(-1)?.outer ?? ROOT) : dot;
    for (const path of resolver.references(outer, pipeline)) found.push({ path, line: action.line });
    switch (action.kind) {
      case 'assign':
        resolver.assign(dot, body, true);
        break;
      case 'if':
        frames.push({ kind: 'if', outer: dot });
        break;
      case 'with':
        frames.push({ kind: 'with', outer: dot });
        dot = resolver.dotOf(dot, pipeline);
        break;
      case 'range':
        resolver.assign(dot, pipeline, false);
        frames.push({ kind: 'range', outer: dot });
        dot = UNKNOWN;
        break;
      case 'define':
      case 'block':
        frames.push({ kind: action.kind, outer: dot });
        dot = ROOT;
        break;
      case 'else':
        dot = /^else\s+with\b/.test(body) ? resolver.dotOf(outer, pipeline) : outer;
        break;
      case 'end':
        dot = frames.pop()?.outer ?? ROOT;
        break;
      default:
        break;
    }
  }
  return found;
}
