import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlPlaneCore } from './core.js';
import type { RouteName } from './faults.js';
import type { SessionRecord } from './session-store.js';

export interface RouteContext {
  readonly core: ControlPlaneCore;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Decoded path parameters, in order. */
  readonly params: readonly string[];
  /** When the request arrived (ISO), before any injected delay. */
  readonly receivedAt: string;
}

export interface SessionContext extends RouteContext {
  readonly session: SessionRecord;
}

/** A JSON answer, or `undefined` when the handler wrote the response itself (claim). */
export type Answer = { readonly status: number; readonly body?: unknown } | undefined;

interface RouteBase {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Matched against the path below `/connector/v1`; capture groups are the parameters. */
  readonly pattern: RegExp;
}

/**
 * `enrollment`: the enrollment token. `sessionPath`: the session in the path must exist (else 404
 * `session_unknown`) and the token must be its current one. `session`: any live session's token.
 */
export type ConnectorRoute =
  | (RouteBase & { readonly auth: 'enrollment'; handle(ctx: RouteContext): Promise<Answer> })
  | (RouteBase & { readonly auth: 'sessionPath' | 'session'; handle(ctx: SessionContext): Promise<Answer> });

/** Largest JSON request body on the protocol routes. */
export { maxJsonBodyBytes } from '../../control-plane/protocol.js';
/** Largest snapshot part. */
export const maxPartBytes = 5 * 1024 * 1024;
