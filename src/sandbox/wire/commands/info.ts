import { Int32, type Document } from 'bson';
import { currentCluster } from '../endpoint-context.js';
import { maxBsonObjectSize } from '../protocol.js';
import type { CommandDef, CommandRequest } from './command.js';
import { currentAuthority } from './authority.js';

function buildInfo(request: CommandRequest): Document {
  const version = currentCluster(request.ctx).mongoDBVersion;
  return {
    version,
    gitVersion: 'atlas-simulator',
    versionArray: [...version.split('.').map((n) => new Int32(Number(n))), new Int32(0)],
    modules: ['enterprise'],
    bits: new Int32(64),
    debug: false,
    maxBsonObjectSize: new Int32(maxBsonObjectSize),
    ok: 1,
  };
}

/**
 * connectionStatus: who is logged in, with which roles and (with `showPrivileges`) which
 * privileges — enough for a test to assert least privilege exactly. Always answered, as by a
 * server: nobody is logged in before a login or once the user has lost its authority.
 */
function connectionStatus(request: CommandRequest): Document {
  const authority = currentAuthority(request);
  const user = authority ? request.session.user : undefined;
  const showPrivileges = request.body['showPrivileges'] === true;
  return {
    authInfo: {
      authenticatedUsers: user ? [{ user: user.username, db: 'admin' }] : [],
      authenticatedUserRoles: authority?.roles ?? [],
      ...(showPrivileges ? { authenticatedUserPrivileges: authority?.privileges ?? [] } : {}),
    },
    ok: 1,
  };
}

export const infoCommands: Record<string, CommandDef> = {
  ping: { open: true, run: () => ({ ok: 1 }) },
  buildInfo: { open: true, run: buildInfo },
  buildinfo: { open: true, run: buildInfo },
  connectionStatus: { open: true, run: connectionStatus },
  endSessions: { run: () => ({ ok: 1 }) },
};
