import { SnapshotCreateRequest } from '../../control-plane/protocol.js';
import { headerValue, parseJson, readBody } from './http-io.js';
import { protocolError } from './protocol-errors.js';
import {
  maxJsonBodyBytes,
  maxPartBytes,
  type Answer,
  type ConnectorRoute,
  type SessionContext,
} from './route-types.js';

/** A session may only touch the snapshots of the connector it registered as. */
function ownConnector(ctx: SessionContext): string {
  const [connectorId = ''] = ctx.params;
  if (connectorId !== ctx.session.registration.connectorId) {
    throw protocolError('not_found', `connector ${connectorId} is not this session's connector`);
  }
  return connectorId;
}

async function create(ctx: SessionContext): Promise<Answer> {
  const connectorId = ownConnector(ctx);
  const request = parseJson(SnapshotCreateRequest, await readBody(ctx.req, maxJsonBodyBytes));
  const answer = ctx.core.snapshots.create(connectorId, request);
  ctx.core.logger.info(
    { integrationId: request.integrationId, generation: request.generation, skip: answer.skip },
    'discovery snapshot created',
  );
  return { status: 201, body: answer };
}

async function putPart(ctx: SessionContext): Promise<Answer> {
  const connectorId = ownConnector(ctx);
  const [, snapshotId = '', partText = ''] = ctx.params;
  const contentType = headerValue(ctx.req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/gzip') {
    throw protocolError('invalid_request', 'content-type: must be application/gzip', 415);
  }
  if (!/^\d{1,6}$/.test(partText)) throw protocolError('invalid_request', 'part: must be a positive integer');
  const bytes = await readBody(ctx.req, maxPartBytes);
  ctx.core.snapshots.putPart(connectorId, snapshotId, Number(partText), bytes);
  return { status: 204 };
}

async function commit(ctx: SessionContext): Promise<Answer> {
  const connectorId = ownConnector(ctx);
  const [, snapshotId = ''] = ctx.params;
  await readBody(ctx.req, maxJsonBodyBytes);
  const answer = ctx.core.snapshots.commit(connectorId, snapshotId);
  ctx.core.logger.info({ snapshotId }, 'discovery snapshot committed');
  return { status: 200, body: answer };
}

export const snapshotRoutes: readonly ConnectorRoute[] = [
  {
    name: 'snapshots',
    method: 'POST',
    pattern: /^\/connectors\/([^/]+)\/discovery\/snapshots$/,
    auth: 'session',
    handle: create,
  },
  {
    name: 'snapshotPart',
    method: 'PUT',
    pattern: /^\/connectors\/([^/]+)\/discovery\/snapshots\/([^/]+)\/parts\/([^/]+)$/,
    auth: 'session',
    handle: putPart,
  },
  {
    name: 'snapshotCommit',
    method: 'POST',
    pattern: /^\/connectors\/([^/]+)\/discovery\/snapshots\/([^/:]+):commit$/,
    auth: 'session',
    handle: commit,
  },
];
