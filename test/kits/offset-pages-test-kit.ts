import type { Page, PageOptions } from '../../src/atlas/index.js';

/**
 * Test-only: a listing paged by offset, as Atlas pages it, over items that may change between two
 * page reads. The page size is the kit's, whatever the caller asks, so a listing of a few items
 * spans pages (the code under test asks for 100 or 500 a page). `beforeRead(read)` runs before
 * the `read`-th page read (1-based, over every listing): a change made there lands between reads.
 */
export function offsetPages<T>(
  items: () => readonly T[],
  options: { readonly itemsPerPage: number; readonly beforeRead?: (read: number) => void },
) {
  const asked: number[] = [];
  const list = (page: PageOptions = {}): Promise<Page<T>> => {
    const pageNum = page.pageNum ?? 1;
    asked.push(pageNum);
    options.beforeRead?.(asked.length);
    const start = (pageNum - 1) * options.itemsPerPage;
    const results = items().slice(start, start + options.itemsPerPage);
    return Promise.resolve({ results, pageNum, hasNext: results.length >= options.itemsPerPage });
  };
  return { list, asked };
}

/**
 * A live listing read while Atlas changes: one item a page, and the item read on page 1 is
 * deleted before page 2 is read, so page 2 starts one late and the second item is skipped.
 */
export function firstDeletedAfterPageOne<T>(items: readonly T[]): (page?: PageOptions) => Promise<Page<T>> {
  let live = items;
  return offsetPages(() => live, {
    itemsPerPage: 1,
    beforeRead: (read) => {
      if (read === 2) live = items.slice(1);
    },
  }).list;
}
