import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';

describe('crc32c', () => {
  it.each([
    ['the check value of "123456789"', Buffer.from('123456789'), 0xe3069283],
    ['32 zero bytes (RFC 3720 B.4)', Buffer.alloc(32), 0x8a9136aa],
    ['32 bytes of 0xff (RFC 3720 B.4)', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['nothing', Buffer.alloc(0), 0],
  ])('gives %s', (_case, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });
});
