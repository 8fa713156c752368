import { headerBytes, maxMessageBytes, ProtocolError } from './protocol.js';

/**
 * Cuts a TCP byte stream into whole wire messages: a message may arrive over many reads and one
 * read may carry several messages. A length outside [16, maxMessageBytes] is garbage, not a
 * message to wait for, and the connection is closed rather than buffering it.
 *
 * The reads of a message are kept as they came and joined once, when the message is whole: joining
 * on every read would copy a message of n reads n times over (quadratic in its size).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the message being buffered, once its four length bytes have arrived. */
  private expected: number | undefined;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.expected === undefined) {
        if (this.buffered < 4) return messages;
        this.expected = this.lengthPrefix();
      }
      if (this.buffered < this.expected) return messages;
      const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      messages.push(joined.subarray(0, this.expected));
      const rest = joined.subarray(this.expected);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.expected = undefined;
    }
  }

  /** Reads the length of the message at the head, copying at most its four bytes. */
  private lengthPrefix(): number {
    const first = this.chunks[0]!;
    const head = first.length >= 4 ? first : Buffer.concat(this.chunks, 4);
    const length = head.readInt32LE(0);
    if (length < headerBytes || length > maxMessageBytes) {
      throw new ProtocolError(`message length ${length} out of bounds`);
    }
    return length;
  }
}
