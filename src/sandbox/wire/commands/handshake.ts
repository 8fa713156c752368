import { Int32, ObjectId, type Document } from 'bson';
import { checkLogin } from '../../atlas/login-rules.js';
import { replicaSetNameOf } from '../../atlas/loopback-strings.js';
import { scramMechanisms } from '../../atlas/scram-credentials.js';
import { commandErrors } from '../command-error.js';
import { currentCluster, type EndpointContext } from '../endpoint-context.js';
import { maxBsonObjectSize, maxMessageBytes } from '../protocol.js';
import { speculativeAuthenticate } from './auth.js';
import type { CommandDef, CommandRequest } from './command.js';

/**
 * Each release's wire version (the server's wire_version.h): one more per release, rapid releases
 * included. Drivers of the current major accept 9 (4.4) and later.
 */
const wireVersions: Readonly<Record<string, number>> = {
  '4.0': 7,
  '4.2': 8,
  '4.4': 9,
  '5.0': 13,
  '5.1': 14,
  '5.2': 15,
  '5.3': 16,
  '6.0': 17,
  '6.1': 18,
  '6.2': 19,
  '6.3': 20,
  '7.0': 21,
  '7.1': 22,
  '7.2': 23,
  '7.3': 24,
  '8.0': 25,
  '8.1': 26,
  '8.2': 27,
};

const releaseRank = (release: string): number => {
  const [major = 0, minor = 0] = release.split('.').map(Number);
  return major * 1000 + minor;
};

/**
 * The `maxWireVersion` a server of `version` (`x.y.z`) answers: that of its release, else of the
 * newest listed release before it (of the oldest listed for anything older).
 */
export function maxWireVersionOf(version: string): number {
  const rank = releaseRank(version);
  let found = wireVersions['4.0']!;
  for (const [release, wireVersion] of Object.entries(wireVersions)) {
    if (releaseRank(release) <= rank) found = wireVersion;
  }
  return found;
}

/** Fixed, so a driver's stale-primary check sees one steady election. */
const electionId = new ObjectId('7fffffff0000000000000001');

/**
 * The topology part of `hello`: a replica set answers as its only member and primary (so the
 * driver's SDAM sees a ReplicaSetWithPrimary of one), a sharded cluster as a mongos. No
 * `topologyVersion`, so drivers poll instead of streaming; no `compression`, so none is used.
 */
function topology(ctx: EndpointContext): Document {
  const setName = replicaSetNameOf(currentCluster(ctx));
  if (setName === undefined) return { msg: 'isdbgrid' };
  return {
    setName,
    setVersion: new Int32(1),
    hosts: [ctx.address],
    primary: ctx.address,
    me: ctx.address,
    secondary: false,
    electionId,
  };
}

/** `saslSupportedMechs: "admin.<user>"` lists the user's mechanisms when it could log in. */
function supportedMechanisms(ctx: EndpointContext, value: unknown): Document {
  if (typeof value !== 'string' || !value.startsWith('admin.')) return {};
  const check = checkLogin(
    ctx.state,
    currentCluster(ctx),
    value.slice(6),
    ctx.clock.now(),
    ctx.knobs.propagationDelayMs,
  );
  return 'user' in check ? { saslSupportedMechs: [...scramMechanisms] } : {};
}

function hello(request: CommandRequest, legacy: boolean): Document {
  const { ctx, session, body } = request;
  // A server keeps the metadata of a connection's first hello and refuses any later copy.
  const seen = session.helloSeen === true;
  session.helloSeen = true;
  if (seen && body['client'] !== undefined) throw commandErrors.clientMetadataCannotBeMutated();
  const speculative =
    typeof body['speculativeAuthenticate'] === 'object' && body['speculativeAuthenticate'] !== null
      ? speculativeAuthenticate(request, body['speculativeAuthenticate'] as Document)
      : undefined;
  return {
    // Answered to a client that sent helloOk, so it knows `hello` is served (handshake spec).
    ...(body['helloOk'] !== undefined ? { helloOk: true } : {}),
    [legacy ? 'ismaster' : 'isWritablePrimary']: true,
    ...topology(ctx),
    maxBsonObjectSize: new Int32(maxBsonObjectSize),
    maxMessageSizeBytes: new Int32(maxMessageBytes),
    maxWriteBatchSize: new Int32(100_000),
    localTime: new Date(ctx.clock.now()),
    logicalSessionTimeoutMinutes: new Int32(30),
    connectionId: new Int32(session.connectionId),
    minWireVersion: new Int32(0),
    maxWireVersion: new Int32(maxWireVersionOf(currentCluster(ctx).mongoDBVersion)),
    readOnly: false,
    ...supportedMechanisms(ctx, body['saslSupportedMechs']),
    ...(speculative ? { speculativeAuthenticate: speculative } : {}),
    ok: 1,
  };
}

export const handshakeCommands: Record<string, CommandDef> = {
  hello: { open: true, run: (r) => hello(r, false) },
  isMaster: { open: true, run: (r) => hello(r, true) },
  ismaster: { open: true, run: (r) => hello(r, true) },
};
