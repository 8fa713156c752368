import type { Document } from 'bson';

/** A command failure, answered as the server does: `{ ok: 0, errmsg, code, codeName }`. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }

  toDocument(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName };
  }
}

/** The server's wording for each refusal the endpoint gives. */
export const commandErrors = {
  authenticationFailed: () => new CommandError(18, 'AuthenticationFailed', 'Authentication failed.'),
  requiresAuthentication: (command: string) =>
    new CommandError(13, 'Unauthorized', `Command ${command} requires authentication`),
  unauthorized: (database: string, command: string, target: unknown) =>
    new CommandError(
      13,
      'Unauthorized',
      `not authorized on ${database} to execute command { ${command}: ${JSON.stringify(target)} }`,
    ),
  commandNotFound: (command: string) =>
    new CommandError(59, 'CommandNotFound', `no such command: '${command}'`),
  cursorNotFound: (id: string) => new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`),
  badValue: (message: string) => new CommandError(2, 'BadValue', message),
  typeMismatch: (message: string) => new CommandError(14, 'TypeMismatch', message),
  mechanismUnavailable: (mechanism: string) =>
    new CommandError(
      334,
      'MechanismUnavailable',
      `Received authentication for mechanism ${mechanism} which is unknown or not enabled`,
    ),
  clientMetadataCannotBeMutated: () =>
    new CommandError(
      186,
      'ClientMetadataCannotBeMutated',
      'The client metadata document may only be sent in the first hello',
    ),
  noSuchConversation: () => new CommandError(17, 'ProtocolError', 'No SASL session state found'),
  unsupportedOpQuery: (command: string) =>
    new CommandError(
      352,
      'UnsupportedOpQueryCommand',
      `Unsupported OP_QUERY command: ${command}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
    ),
} as const;
