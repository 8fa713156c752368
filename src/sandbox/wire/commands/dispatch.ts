import type { Document } from 'bson';
import { CommandError, commandErrors } from '../command-error.js';
import { authCommands } from './auth.js';
import type { CommandDef, CommandRequest } from './command.js';
import { crudCommands } from './crud.js';
import { handshakeCommands } from './handshake.js';
import { infoCommands } from './info.js';
import { listingCommands } from './listing.js';

/** Every command the endpoint serves; anything else is CommandNotFound, as on a server. */
const commands: Readonly<Record<string, CommandDef>> = {
  ...handshakeCommands,
  ...authCommands,
  ...infoCommands,
  ...listingCommands,
  ...crudCommands,
};

const legacyHandshake: ReadonlySet<string> = new Set(['hello', 'isMaster', 'ismaster']);

function run(request: CommandRequest): Document {
  const def = Object.hasOwn(commands, request.name) ? commands[request.name] : undefined;
  if (!def) throw commandErrors.commandNotFound(request.name);
  if (!def.open && !request.session.user) throw commandErrors.requiresAuthentication(request.name);
  return def.run(request);
}

/**
 * Runs one command and returns the reply document; a refused command is an `ok: 0` reply. Over
 * legacy OP_QUERY only the handshake is served (MongoDB 6.0+ removed the rest).
 */
export function dispatch(request: CommandRequest, legacy: boolean): Document {
  try {
    if (legacy && !legacyHandshake.has(request.name)) throw commandErrors.unsupportedOpQuery(request.name);
    return run(request);
  } catch (error) {
    if (error instanceof CommandError) return error.toDocument();
    throw error;
  }
}
