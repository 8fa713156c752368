import type { Document } from 'bson';
import type { EndpointContext, Session } from '../endpoint-context.js';

/** One decoded command on one connection. */
export interface CommandRequest {
  readonly ctx: EndpointContext;
  readonly session: Session;
  /** The command's name: the first key of its document. */
  readonly name: string;
  readonly body: Document;
  /** `$db` (OP_MSG) or the namespace's database (legacy OP_QUERY). */
  readonly db: string;
}

export interface CommandDef {
  /** Served before authentication (handshake, auth, ping, buildInfo, connectionStatus). */
  readonly open?: boolean;
  readonly run: (request: CommandRequest) => Document;
}
