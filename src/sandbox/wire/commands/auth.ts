import { Binary, Int32, type Document } from 'bson';
import { checkLogin } from '../../atlas/login-rules.js';
import { scramMechanisms, type ScramMechanism } from '../../atlas/scram-credentials.js';
import { CommandError, commandErrors } from '../command-error.js';
import { currentCluster, type Session, type SessionUser } from '../endpoint-context.js';
import { parseClientFirst, ScramConversation } from '../scram-conversation.js';
import type { CommandDef, CommandRequest } from './command.js';

function bytesOf(value: unknown): Buffer {
  if (value instanceof Binary) return Buffer.from(value.buffer.subarray(0, value.position));
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw commandErrors.badValue('payload must be binary data');
}

const isMechanism = (value: unknown): value is ScramMechanism =>
  typeof value === 'string' && (scramMechanisms as readonly string[]).includes(value);

function skipsEmptyExchange(body: Document): boolean {
  const options = body['options'];
  return (
    typeof options === 'object' && options !== null && (options as Document)['skipEmptyExchange'] === true
  );
}

/**
 * saslStart: the user must be able to log in to this cluster now (login rules) and live in the
 * `admin` database, the authentication source of every Atlas password user.
 */
function saslStart(request: CommandRequest, body: Document, db: string): Document {
  const { ctx, session } = request;
  const mechanism = body['mechanism'];
  if (!isMechanism(mechanism)) throw commandErrors.mechanismUnavailable(String(mechanism));
  session.conversation = undefined;
  const first = parseClientFirst(bytesOf(body['payload']));
  if (db !== 'admin') throw commandErrors.authenticationFailed();
  const now = ctx.clock.now();
  const check = checkLogin(ctx.state, currentCluster(ctx), first.username, now, ctx.knobs.propagationDelayMs);
  if (!('user' in check)) throw commandErrors.authenticationFailed();
  const scram = new ScramConversation(mechanism, first, check.credentials[mechanism], ctx.random);
  const id = 1;
  session.conversation = {
    id,
    scram,
    user: check.user,
    skipEmptyExchange: skipsEmptyExchange(body),
    finished: false,
  };
  return {
    conversationId: new Int32(id),
    done: false,
    payload: new Binary(scram.serverFirstMessage()),
    ok: 1,
  };
}

type Conversation = NonNullable<Session['conversation']>;

/**
 * The conversation's user as a server acquires it: one deleted (or deleted and created again),
 * expired or moved out of scope since saslStart is refused.
 */
function acquireUser(request: CommandRequest, conversation: Conversation): SessionUser {
  const { ctx } = request;
  const cluster = currentCluster(ctx);
  const check = checkLogin(ctx.state, cluster, conversation.scram.username, ctx.clock.now(), 0);
  if (!('user' in check) || check.user !== conversation.user) throw commandErrors.authenticationFailed();
  return { projectId: cluster.projectId, username: conversation.scram.username, record: conversation.user };
}

/**
 * saslContinue: the client's proof, then (unless `skipEmptyExchange`) one empty round trip. The
 * user is looked up again at each step, and the connection is logged in only by the answer that
 * says `done`, as on a server: not between the two.
 */
function saslContinue(request: CommandRequest): Document {
  const { session, body } = request;
  const conversation = session.conversation;
  if (!conversation || Number(body['conversationId']) !== conversation.id)
    throw commandErrors.noSuchConversation();
  const conversationId = new Int32(conversation.id);
  try {
    const serverFinal = conversation.finished
      ? Buffer.alloc(0)
      : conversation.scram.finish(bytesOf(body['payload']));
    const user = acquireUser(request, conversation);
    const done = conversation.finished || conversation.skipEmptyExchange;
    conversation.finished = true;
    if (done) {
      session.conversation = undefined;
      session.user = user;
    }
    return { conversationId, done, payload: new Binary(serverFinal), ok: 1 };
  } catch (error) {
    session.conversation = undefined;
    throw error;
  }
}

/**
 * `speculativeAuthenticate` in the handshake runs saslStart on the spot; when it fails the reply
 * simply has no speculativeAuthenticate field, and the driver then authenticates the usual way
 * (and sees the real error), as the handshake specification requires.
 */
export function speculativeAuthenticate(request: CommandRequest, body: Document): Document | undefined {
  const db = typeof body['db'] === 'string' ? body['db'] : request.db;
  try {
    return saslStart(request, body, db);
  } catch (error) {
    if (error instanceof CommandError) return undefined;
    throw error;
  }
}

export const authCommands: Record<string, CommandDef> = {
  saslStart: { open: true, run: (request) => saslStart(request, request.body, request.db) },
  saslContinue: { open: true, run: saslContinue },
};
