import type { RouteDef } from './context.js';

export const apiPrefix = '/api/atlas/v2';

interface CompiledRoute {
  readonly route: RouteDef;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  /** Literal characters in the template; the most literal match wins (`/users/{id}:addRole`). */
  readonly weight: number;
}

export interface RouteMatch {
  readonly route: RouteDef;
  readonly params: Record<string, string>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(route: RouteDef): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[A-Za-z]+\})/)
    .map((part) => {
      const name = /^\{([A-Za-z]+)\}$/.exec(part)?.[1];
      if (name === undefined) return escapeRegExp(part);
      names.push(name);
      return '([^/]+)';
    })
    .join('');
  const weight = route.path.replace(/\{[A-Za-z]+\}/g, '').length;
  return { route, pattern: new RegExp(`^${escapeRegExp(apiPrefix)}${source}/?$`), names, weight };
}

/** Matches raw (still percent-encoded) paths so an encoded `/` in a username stays one segment. */
export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly RouteDef[]) {
    this.compiled = routes.map(compile);
  }

  get routes(): RouteDef[] {
    return this.compiled.map((c) => c.route);
  }

  match(method: string, rawPath: string): RouteMatch | undefined {
    let best: { c: CompiledRoute; values: string[] } | undefined;
    for (const c of this.compiled) {
      if (c.route.method !== method) continue;
      const m = c.pattern.exec(rawPath);
      if (m && (!best || c.weight > best.c.weight)) best = { c, values: m.slice(1) };
    }
    if (!best) return undefined;
    const params: Record<string, string> = {};
    const { names } = best.c;
    best.values.forEach((value, i) => {
      const name = names[i];
      if (name !== undefined) params[name] = safeDecode(value);
    });
    return { route: best.c.route, params };
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
