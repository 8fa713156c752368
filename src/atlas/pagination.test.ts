import { describe, expect, it } from 'vitest';
import { offsetPages } from '../../test/kits/offset-pages-test-kit.js';
import { paginateComplete } from './pagination.js';

const named = (...ids: string[]) => ids.map((id) => ({ id }));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('paginateComplete', () => {
  it('lists again and yields the item a deletion behind the cursor moved up out of reach', async () => {
    let live = named('a', 'b', 'c', 'd', 'e');
    // `a` (page 1) is deleted before page 2 is read: page 2 starts at `d`, and `c` is skipped.
    const { list } = offsetPages(() => live, {
      itemsPerPage: 2,
      beforeRead: (read) => {
        if (read === 2) live = live.filter((item) => item.id !== 'a');
      },
    });
    const ids = (await collect(paginateComplete(list))).map((item) => item.id);
    expect(ids.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('reads a listing that fits one page once: one answer, nothing shifted under it', async () => {
    const { list, asked } = offsetPages(() => named('a', 'b'), { itemsPerPage: 3 });
    expect(await collect(paginateComplete(list))).toEqual(named('a', 'b'));
    expect(asked).toEqual([1]);
  });

  it('ends once a listing of more than one page brings nothing new', async () => {
    const { list, asked } = offsetPages(() => named('a', 'b', 'c'), { itemsPerPage: 2 });
    expect(await collect(paginateComplete(list))).toEqual(named('a', 'b', 'c'));
    expect(asked).toEqual([1, 2, 1, 2]);
  });

  it('tells items without an id apart by keyOf, and yields the one a deletion skipped', async () => {
    let live = ['admin', 'hr', 'sales', 'stock'].map((databaseName) => ({ databaseName }));
    const { list } = offsetPages(() => live, {
      itemsPerPage: 2,
      beforeRead: (read) => {
        if (read === 2) live = live.slice(1);
      },
    });
    const names = await collect(paginateComplete(list, { keyOf: (database) => database.databaseName }));
    expect(names.map((database) => database.databaseName).sort()).toEqual(['admin', 'hr', 'sales', 'stock']);
  });

  it('reads the listing at most maxListings times, though each brings an item created since', async () => {
    let live = named('a', 'b', 'c');
    const { list, asked } = offsetPages(() => live, {
      itemsPerPage: 2,
      beforeRead: (read) => {
        live = [...live, { id: `new-${read}` }];
      },
    });
    await collect(paginateComplete(list, { maxListings: 2 }));
    expect(asked.filter((pageNum) => pageNum === 1)).toHaveLength(2);
  });
});
