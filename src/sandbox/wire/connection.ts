import type { Socket } from 'node:net';
import type { Document } from 'bson';
import { dispatch } from './commands/dispatch.js';
import { commandErrors } from './command-error.js';
import type { EndpointContext, Session } from './endpoint-context.js';
import { FrameReader } from './frame-reader.js';
import { decodeRequest, encodeOpMsg, encodeOpReply, opCodes, type Request } from './protocol.js';

/** Why a connection was dropped without an answer: for the endpoint's observer (tests, logs). */
export type ConnectionDrop = { readonly reason: 'protocol' | 'compressed'; readonly detail: string };

function databaseOf(request: Request): string {
  if (request.kind === 'query') return (request.namespace ?? 'admin').split('.')[0] ?? 'admin';
  const db = request.command['$db'];
  return typeof db === 'string' ? db : 'admin';
}

function reply(request: Request, nextId: () => number, doc: Document): Buffer {
  const encode = request.kind === 'query' ? encodeOpReply : encodeOpMsg;
  return encode(nextId(), request.header.requestId, doc);
}

/**
 * Serves one client connection: cuts the stream into messages, answers each in order. Garbage
 * (a bad length, an unknown op code, malformed BSON) closes this connection only. OP_COMPRESSED
 * is never negotiated (no compressors are advertised); if one arrives anyway it is answered with
 * an error and the connection is closed, since its content cannot be read.
 */
export function serveConnection(
  socket: Socket,
  ctx: EndpointContext,
  connectionId: number,
  onDrop: (drop: ConnectionDrop) => void,
  onRequest: () => void = () => {},
): void {
  const reader = new FrameReader();
  const session: Session = { connectionId };
  let replyId = 0;
  const nextId = (): number => (replyId = (replyId % 0x7fffffff) + 1);
  const drop = (reason: ConnectionDrop['reason'], detail: string): void => {
    onDrop({ reason, detail });
    socket.destroy();
  };
  socket.on('data', (chunk: Buffer) => {
    if (socket.destroyed) return;
    try {
      for (const message of reader.push(chunk)) {
        const decoded = decodeRequest(message);
        if ('unsupported' in decoded) {
          if (decoded.header.opCode === opCodes.compressed) {
            const refusal = commandErrors.badValue(
              'OP_COMPRESSED is not supported: no compressor was negotiated',
            );
            socket.write(encodeOpMsg(nextId(), decoded.header.requestId, refusal.toDocument()));
            drop('compressed', 'OP_COMPRESSED received');
          } else drop('protocol', `unsupported op code ${decoded.header.opCode}`);
          return;
        }
        onRequest();
        const name = Object.keys(decoded.command)[0] ?? '';
        const answer = dispatch(
          { ctx, session, name, body: decoded.command, db: databaseOf(decoded) },
          decoded.kind === 'query',
        );
        if (!decoded.noReply) socket.write(reply(decoded, nextId, answer));
      }
    } catch (error) {
      drop('protocol', error instanceof Error ? error.message : String(error));
    }
  });
  socket.on('error', () => socket.destroy());
}
