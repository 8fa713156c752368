import { describe, expect, it } from 'vitest';
import { parseStrictJson } from './strict-json.js';

describe('parseStrictJson', () => {
  it.each([
    ['{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}', { a: 1, b: { a: 2 }, c: [{ a: 3 }, { a: 4 }] }],
    [
      '{"s":"quote \\" and , and } inside","n":null,"t":true,"x":-1.5e3}',
      { s: 'quote " and , and } inside', n: null, t: true, x: -1500 },
    ],
    [' [ 1 , "two" , { } ] ', [1, 'two', {}]],
  ])('accepts %s', (text, expected) => {
    expect(parseStrictJson(text)).toEqual(expected);
  });

  it.each([
    ['{"component":"a","msg":"m","component":"b"}', 'component'],
    ['{"outer":{"k":1,"k":2}}', 'k'],
    ['[{"x":1},{"y":1,"y":2}]', 'y'],
    ['{"a\\u0062":1,"ab":2}', 'ab'],
  ])('rejects the duplicate key in %s', (text, key) => {
    expect(() => parseStrictJson(text)).toThrow(`duplicate key "${key}"`);
  });
});
