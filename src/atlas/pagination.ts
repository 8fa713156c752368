import { z } from 'zod';
import { ConnectorError } from '../errors/connector-error.js';

export const defaultItemsPerPage = 100;
export const maxItemsPerPage = 500;

/** Every call takes an optional signal; list calls also take a page position. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface PageOptions extends CallOptions {
  /** 1-based. */
  readonly pageNum?: number;
  /** 1…500, default 100. */
  readonly itemsPerPage?: number;
}

/** One page; the caller owns the cursor. */
export interface Page<T> {
  readonly results: readonly T[];
  /** Atlas calls it an estimate; never use it to decide whether to stop. */
  readonly totalCount?: number;
  readonly pageNum: number;
  readonly hasNext: boolean;
}

/** Atlas's paginated envelope; items are parsed one by one so one odd item cannot fail a page. */
export const pageEnvelope = z.object({
  results: z.array(z.unknown()),
  totalCount: z.number().int().nonnegative().optional().catch(undefined),
});

export interface PagePosition {
  readonly pageNum: number;
  readonly itemsPerPage: number;
}

export function pagePosition(options: PageOptions = {}, operation = 'list'): PagePosition {
  const pageNum = options.pageNum ?? 1;
  const itemsPerPage = options.itemsPerPage ?? defaultItemsPerPage;
  const valid =
    Number.isInteger(pageNum) &&
    pageNum >= 1 &&
    Number.isInteger(itemsPerPage) &&
    itemsPerPage >= 1 &&
    itemsPerPage <= maxItemsPerPage;
  if (!valid) {
    throw new ConnectorError({
      code: 'invalid_request',
      message: `${operation}: pageNum must be ≥ 1 and itemsPerPage 1…${maxItemsPerPage}`,
      details: { operation },
    });
  }
  return { pageNum, itemsPerPage };
}

/**
 * `hasNext` follows the documented rule (a short page is the last one) on the raw item count, so
 * an item dropped as invalid does not end the listing early.
 */
export function toPage<T>(
  envelope: z.infer<typeof pageEnvelope>,
  position: PagePosition,
  results: readonly T[],
): Page<T> {
  return {
    results,
    ...(envelope.totalCount === undefined ? {} : { totalCount: envelope.totalCount }),
    pageNum: position.pageNum,
    hasNext: envelope.results.length >= position.itemsPerPage,
  };
}

/** An Atlas resource's `id`, when the item has one. */
function idOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null || !('id' in item)) return undefined;
  return typeof item.id === 'string' ? item.id : undefined;
}

/**
 * The most pages one listing may take: 1 million items at the default 100 a page, far above any
 * listing the connector makes. A server that never ends is an error, not a listing.
 */
export const defaultMaxPages = 10_000;

export interface PaginateOptions extends PageOptions {
  /** Default `defaultMaxPages`. */
  readonly maxPages?: number;
}

/**
 * Every item of a listing, one page at a time (never buffered):
 * `for await (const user of paginate((page) => atlas.databaseUsers.list(groupId, page)))`.
 * Atlas pages by offset, so an item created mid-listing ahead of the cursor shifts the next page
 * back by one and lists an item again: an item whose `id` was already yielded is not yielded twice
 * (items without an `id` are yielded as they come). A listing is bounded: a full page that brings
 * only items already listed (a proxy or cache that ignores `pageNum` answers page 1 for good), or
 * one past `maxPages`, fails as `invalid_response` rather than ask for pages for good.
 */
export async function* paginate<T>(
  list: (options: PageOptions) => Promise<Page<T>>,
  options: PaginateOptions = {},
): AsyncGenerator<T, void, undefined> {
  const { maxPages = defaultMaxPages, ...position } = options;
  let pageNum = position.pageNum ?? 1;
  const seen = new Set<string>();
  for (let pages = 1; ; pages += 1) {
    const page = await list({ ...position, pageNum });
    let fresh = 0;
    for (const item of page.results) {
      const id = idOf(item);
      if (id !== undefined) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      fresh += 1;
      yield item;
    }
    if (!page.hasNext) return;
    // Only `itemsPerPage` creations ahead of the cursor between two reads could make a page of
    // repeats; a server that ignores the page number makes nothing else.
    if (page.results.length > 0 && fresh === 0) throw endlessListing(`page ${pageNum} repeats earlier pages`);
    if (pages >= maxPages) throw endlessListing(`more than ${maxPages} pages`);
    pageNum += 1;
  }
}

export interface PaginateCompleteOptions extends PaginateOptions {
  /** The most times the listing is read, the first included. Default `defaultMaxListings`. */
  readonly maxListings?: number;
}

/** For items without an `id`: what tells two of them apart (a database user's auth database and name). */
export interface KeyedPaginateCompleteOptions<T> extends PaginateCompleteOptions {
  readonly keyOf: (item: T) => string;
}

/** Listings `paginateComplete` reads at most: the walk and up to three checks. */
export const defaultMaxListings = 4;

/**
 * Every item of a listing that must be complete, such as one a discovery snapshot reports (an
 * item left out is taken as gone) or one a sweep works through (a user left out keeps an ended
 * grant's access). Atlas pages by offset, so an item deleted behind the cursor moves the next page
 * up by one and the item at its head is never listed. So once a listing of more than one page
 * ends it is read again, and an item not yet yielded (skipped so, or created since) is yielded
 * too, until a listing brings none new, or fits one page, or `maxListings` were read. A listing of
 * one page is one answer, so nothing shifted under it: a small listing is read once. Items are
 * told apart by `id`, or by `keyOf` for items without one; each is yielded once, as it comes.
 */
export function paginateComplete<T extends { readonly id: string }>(
  list: (options: PageOptions) => Promise<Page<T>>,
  options?: PaginateCompleteOptions,
): AsyncGenerator<T, void, undefined>;
export function paginateComplete<T>(
  list: (options: PageOptions) => Promise<Page<T>>,
  options: KeyedPaginateCompleteOptions<T>,
): AsyncGenerator<T, void, undefined>;
export async function* paginateComplete<T>(
  list: (options: PageOptions) => Promise<Page<T>>,
  options: PaginateCompleteOptions & { readonly keyOf?: (item: T) => string } = {},
): AsyncGenerator<T, void, undefined> {
  const { maxListings = defaultMaxListings, keyOf, ...listing } = options;
  const keyed: (item: T) => string | undefined = keyOf ?? idOf;
  const seen = new Set<string>();
  for (let read = 1; read <= maxListings; read += 1) {
    let pages = 0;
    const counted = (page: PageOptions): Promise<Page<T>> => {
      pages += 1;
      return list(page);
    };
    let fresh = false;
    for await (const item of paginate(counted, listing)) {
      const key = keyed(item);
      if (key !== undefined) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      fresh = true;
      yield item;
    }
    if (!fresh || pages === 1) return;
  }
}

function endlessListing(reason: string): ConnectorError {
  return new ConnectorError({
    code: 'invalid_response',
    message: `listing does not end: ${reason}`,
  });
}
