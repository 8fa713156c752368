import { describe, expect, it } from 'vitest';
import { describeUser } from './user-store.js';

describe('describeUser', () => {
  it('stays within Atlas’s 100 characters without cutting a character in two', () => {
    // "JIT access for " is 15 characters: the 43rd emoji's halves would sit at 99 and 100.
    const description = describeUser({ id: 'u-1', name: `${'\u{1F600}'.repeat(60)}` });
    expect(description.length).toBeLessThanOrEqual(100);
    expect(/\p{Surrogate}/u.test(description)).toBe(false);
    expect(describeUser({ id: 'u-1', email: 'alice@example.com' })).toBe(
      'JIT access for alice@example.com (atlas-jit-connector)',
    );
  });
});
