import { headerBytes, maxMessageBytes, ProtocolError } from './protocol.js';

/**
 * Cuts a TCP byte stream into whole wire messages: a message may arrive over many reads and one
 * read may carry several messages. A length outside [16, maxMessageBytes] is garbage, not a
 * message to wait for, and the connection is closed rather than buffering it.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) return messages;
      const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [joined];
      const length = joined.readInt32LE(0);
      if (length < headerBytes || length > maxMessageBytes) {
        throw new ProtocolError(`message length ${length} out of bounds`);
      }
      if (this.buffered < length) return messages;
      messages.push(joined.subarray(0, length));
      const rest = joined.subarray(length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
  }
}
