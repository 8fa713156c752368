import { deserialize, serialize, type Document } from 'bson';
import { crc32c } from './crc32c.js';

/**
 * MongoDB wire-protocol framing (MongoDB Wire Protocol reference and the OP_MSG specification):
 * a 16-byte little-endian header (messageLength, requestID, responseTo, opCode) and the body of
 * one of the op codes below. Only what a driver sends to a 4.2+ server is decoded.
 */
export const opCodes = { reply: 1, query: 2004, compressed: 2012, msg: 2013 } as const;

export const headerBytes = 16;
/** The server's maxMessageSizeBytes, advertised in `hello`. */
export const maxMessageBytes = 48_000_000;
export const maxBsonObjectSize = 16 * 1024 * 1024;

const checksumPresent = 1 << 0;
const moreToCome = 1 << 1;
/** Bits 0-15 are required: a receiver must refuse a message with one it does not know. */
const knownRequiredBits = checksumPresent | moreToCome;

export class ProtocolError extends Error {}

export interface Header {
  readonly length: number;
  readonly requestId: number;
  readonly responseTo: number;
  readonly opCode: number;
}

/** A decoded request: the command document with every document sequence folded in. */
export interface Request {
  readonly header: Header;
  readonly kind: 'query' | 'msg';
  readonly command: Document;
  /** Legacy OP_QUERY: the namespace it was sent to (`admin.$cmd`). */
  readonly namespace?: string;
  /** OP_MSG moreToCome: the client expects no reply. */
  readonly noReply: boolean;
}

export function readHeader(buffer: Buffer): Header {
  return {
    length: buffer.readInt32LE(0),
    requestId: buffer.readInt32LE(4),
    responseTo: buffer.readInt32LE(8),
    opCode: buffer.readInt32LE(12),
  };
}

function readCString(buffer: Buffer, at: number): { value: string; next: number } {
  const end = buffer.indexOf(0, at);
  if (end < 0) throw new ProtocolError('unterminated cstring');
  return { value: buffer.toString('utf8', at, end), next: end + 1 };
}

/** Reads one BSON document at `at`, checking its length against the bytes that remain. */
function readDocument(buffer: Buffer, at: number, end: number): { doc: Document; next: number } {
  if (at + 5 > end) throw new ProtocolError('truncated document');
  const size = buffer.readInt32LE(at);
  if (size < 5 || at + size > end) throw new ProtocolError('document length out of bounds');
  return { doc: deserialize(buffer.subarray(at, at + size)), next: at + size };
}

/** Reads one document sequence (section kind 1) at `at`: its identifier and its documents. */
function readSequence(
  message: Buffer,
  at: number,
  end: number,
): { id: string; docs: Document[]; next: number } {
  const size = message.readInt32LE(at);
  const sectionEnd = at + size;
  if (size < 5 || sectionEnd > end) throw new ProtocolError('document sequence length out of bounds');
  const id = readCString(message, at + 4);
  if (id.next > sectionEnd) throw new ProtocolError('document sequence identifier out of bounds');
  const docs: Document[] = [];
  for (let p = id.next; p < sectionEnd;) {
    const read = readDocument(message, p, sectionEnd);
    docs.push(read.doc);
    p = read.next;
  }
  return { id: id.value, docs, next: sectionEnd };
}

function decodeOpMsg(header: Header, message: Buffer): Request {
  const flags = message.readUInt32LE(headerBytes);
  if ((flags & 0xffff & ~knownRequiredBits) !== 0)
    throw new ProtocolError('unknown required OP_MSG flag bit');
  const end = message.length - ((flags & checksumPresent) !== 0 ? 4 : 0);
  // A server checks the CRC-32C of everything before the checksum, header included.
  if (end !== message.length && crc32c(message.subarray(0, end)) !== message.readUInt32LE(end))
    throw new ProtocolError('OP_MSG checksum does not match contents');
  let at = headerBytes + 4;
  let body: Document | undefined;
  const sequences = new Map<string, Document[]>();
  while (at < end) {
    const kind = message.readUInt8(at);
    at += 1;
    if (kind === 0) {
      if (body) throw new ProtocolError('OP_MSG has two body sections');
      ({ doc: body, next: at } = readDocument(message, at, end));
    } else if (kind === 1) {
      const sequence = readSequence(message, at, end);
      if (sequences.has(sequence.id)) throw new ProtocolError(`duplicate document sequence ${sequence.id}`);
      sequences.set(sequence.id, sequence.docs);
      at = sequence.next;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  // Each identifier names one argument, given once: a second copy would silently replace the first.
  for (const name of sequences.keys()) {
    if (Object.hasOwn(body, name))
      throw new ProtocolError(`${name} is both a body field and a document sequence`);
  }
  return {
    header,
    kind: 'msg',
    command: { ...body, ...Object.fromEntries(sequences) },
    noReply: (flags & moreToCome) !== 0,
  };
}

function decodeOpQuery(header: Header, message: Buffer): Request {
  const ns = readCString(message, headerBytes + 4);
  // numberToSkip and numberToReturn (8 bytes) are meaningless for a command.
  const { doc } = readDocument(message, ns.next + 8, message.length);
  // Drivers wrap a command with a read preference as { $query: {...}, $readPreference }.
  const command =
    typeof doc['$query'] === 'object' && doc['$query'] !== null ? (doc['$query'] as Document) : doc;
  return { header, kind: 'query', command, namespace: ns.value, noReply: false };
}

/** Decodes a complete message; OP_COMPRESSED and other op codes are left to the caller. */
export function decodeRequest(message: Buffer): Request | { header: Header; unsupported: true } {
  const header = readHeader(message);
  try {
    if (header.opCode === opCodes.msg) return decodeOpMsg(header, message);
    if (header.opCode === opCodes.query) return decodeOpQuery(header, message);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(`malformed message: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { header, unsupported: true };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const out = Buffer.alloc(headerBytes);
  out.writeInt32LE(length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(opCode, 12);
  return out;
}

/** An OP_MSG reply with one body section and no flags. */
export function encodeOpMsg(requestId: number, responseTo: number, doc: Document): Buffer {
  const body = serialize(doc);
  const prefix = Buffer.alloc(5); // flagBits = 0, then section kind 0
  const length = headerBytes + prefix.length + body.length;
  return Buffer.concat([header(length, requestId, responseTo, opCodes.msg), prefix, body]);
}

/** An OP_REPLY with one document: the answer to a legacy OP_QUERY handshake. */
export function encodeOpReply(requestId: number, responseTo: number, doc: Document): Buffer {
  const body = serialize(doc);
  const fields = Buffer.alloc(20); // responseFlags, cursorID (0), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  const length = headerBytes + fields.length + body.length;
  return Buffer.concat([header(length, requestId, responseTo, opCodes.reply), fields, body]);
}
