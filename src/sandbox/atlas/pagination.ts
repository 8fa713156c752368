import type { RequestContext } from './context.js';
import { atlasError } from './errors.js';

export interface Link {
  readonly href: string;
  readonly rel: string;
}

export interface Page<T> {
  readonly results: T[];
  readonly totalCount?: number;
  readonly links: Link[];
}

interface Paging {
  readonly pageNum: number;
  readonly itemsPerPage: number;
  readonly includeCount: boolean;
}

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw atlasError('INVALID_QUERY_PARAMETER', name);
  return value;
}

function boolParam(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (raw !== 'true' && raw !== 'false') throw atlasError('INVALID_QUERY_PARAMETER', name);
  return raw === 'true';
}

export function parsePaging(query: URLSearchParams): Paging {
  return {
    pageNum: intParam(query, 'pageNum', 1, 1, Number.MAX_SAFE_INTEGER),
    itemsPerPage: intParam(query, 'itemsPerPage', 100, 1, 500),
    includeCount: boolParam(query, 'includeCount', true),
  };
}

export function selfLink(ctx: RequestContext): Link {
  const search = ctx.query.toString();
  return { href: `${ctx.sim.baseUrl}${ctx.rawPath}${search ? `?${search}` : ''}`, rel: 'self' };
}

function pageLink(ctx: RequestContext, pageNum: number, itemsPerPage: number, rel: string): Link {
  const query = new URLSearchParams(ctx.query);
  query.set('pageNum', String(pageNum));
  query.set('itemsPerPage', String(itemsPerPage));
  return { href: `${ctx.sim.baseUrl}${ctx.rawPath}?${query.toString()}`, rel };
}

/** One page of `items` in Atlas's list shape, with `self`/`previous`/`next` links. */
export function paginate<T, V>(ctx: RequestContext, items: readonly T[], view: (item: T) => V): Page<V> {
  const { pageNum, itemsPerPage, includeCount } = parsePaging(ctx.query);
  const start = (pageNum - 1) * itemsPerPage;
  const results = items.slice(start, start + itemsPerPage).map(view);
  const links: Link[] = [pageLink(ctx, pageNum, itemsPerPage, 'self')];
  if (pageNum > 1) links.push(pageLink(ctx, pageNum - 1, itemsPerPage, 'previous'));
  if (start + itemsPerPage < items.length) links.push(pageLink(ctx, pageNum + 1, itemsPerPage, 'next'));
  return includeCount ? { links, results, totalCount: items.length } : { links, results };
}
