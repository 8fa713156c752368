import { describe, expect, it, vi } from 'vitest';
import { FrameReader } from './frame-reader.js';
import { maxMessageBytes, ProtocolError } from './protocol.js';

/** A message of `length` bytes: its length prefix, then bytes that differ by position. */
function message(length: number, seed = 0): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 4; i < length; i += 1) out[i] = (i + seed) % 251;
  out.writeInt32LE(length, 0);
  return out;
}

function pieces(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

function feed(reader: FrameReader, chunks: readonly Buffer[]): Buffer[] {
  return chunks.flatMap((chunk) => reader.push(chunk));
}

describe('FrameReader', () => {
  it.each([1, 3, 5, 1024, 1 << 20])('gives back messages fed in %i-byte pieces byte for byte', (size) => {
    const stream = [message(21, 1), message(4096, 2), message(16, 3), message(70_000, 4)];
    const out = feed(new FrameReader(), pieces(Buffer.concat(stream), size));
    expect(out.map((m) => m.toString('hex'))).toEqual(stream.map((m) => m.toString('hex')));
  });

  it('copies each byte of a message fed in many small pieces at most once', () => {
    const whole = message(1 << 20);
    const chunks = pieces(whole, 1024);
    const concat = vi.spyOn(Buffer, 'concat');
    const out = feed(new FrameReader(), chunks);
    const copied = concat.mock.results.reduce((sum, r) => sum + (r.value as Buffer).length, 0);
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(whole)).toBe(true);
    expect(copied).toBeLessThanOrEqual(whole.length);
  });

  it('keeps what follows a message for the next one without waiting for more', () => {
    const reader = new FrameReader();
    const [first, second] = [message(32, 1), message(40, 2)];
    expect(reader.push(Buffer.concat([first, second.subarray(0, 2)]))).toEqual([first]);
    expect(reader.push(second.subarray(2, 39))).toEqual([]);
    expect(reader.push(second.subarray(39))).toEqual([second]);
  });

  it.each([
    ['shorter than a header', 15],
    ['longer than the largest message', maxMessageBytes + 1],
    ['negative', -1],
  ])('refuses a length %s once its four bytes have arrived, even one at a time', (_case, length) => {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32LE(length, 0);
    const reader = new FrameReader();
    for (const byte of pieces(prefix, 1).slice(0, 3)) expect(reader.push(byte)).toEqual([]);
    expect(() => reader.push(prefix.subarray(3))).toThrow(ProtocolError);
  });
});
