import { calculateObjectSize, Int32, Long, ObjectId, type Document } from 'bson';
import type { StoredDocument } from '../../atlas/cluster-data.js';
import { commandErrors } from '../command-error.js';
import { maxBsonObjectSize } from '../protocol.js';
import { allows } from '../privileges.js';
import { demand, requireAuthority } from './authority.js';
import type { CommandDef, CommandRequest } from './command.js';
import { clusterData } from './listing.js';
import { matches, sameValue } from './matching.js';

const defaultBatchSize = 101;

function collectionOf(request: CommandRequest, field = request.name): string {
  const value = request.body[field];
  if (typeof value !== 'string' || value === '') {
    throw commandErrors.typeMismatch(`collection name has invalid type ${typeof value}`);
  }
  return value;
}

function count(value: unknown, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw commandErrors.badValue(`expected a non-negative integer, got ${String(value)}`);
  return n;
}

/**
 * How many of `docs` (at most `most`) one batch carries: a server stops filling a batch before
 * 16 MiB of documents, though the first document always goes in, so the reply stays one BSON
 * object and the rest waits for getMore.
 */
function batchLength(docs: readonly StoredDocument[], most: number): number {
  let bytes = 0;
  let n = 0;
  while (n < Math.min(most, docs.length)) {
    bytes += calculateObjectSize(docs[n]!);
    if (n > 0 && bytes > maxBsonObjectSize) break;
    n += 1;
  }
  return n;
}

function ownerOf(request: CommandRequest): string {
  const user = request.session.user;
  return user ? `${user.projectId}/${user.username}` : '';
}

/** find: filter (equality subset), skip, limit, batchSize, singleBatch; sort and projection are ignored. */
function find(request: CommandRequest): Document {
  const authority = requireAuthority(request);
  const collection = collectionOf(request);
  demand(allows(authority, 'find', request.db, collection), request);
  const { body } = request;
  const filter = (body['filter'] ?? {}) as Document;
  const all = clusterData(request)
    .documents(request.db, collection)
    .filter((d) => matches(d, filter));
  const limit = count(body['limit'], 0);
  const selected = all.slice(count(body['skip'], 0), limit > 0 ? count(body['skip'], 0) + limit : undefined);
  const batchSize = batchLength(selected, count(body['batchSize'], defaultBatchSize));
  const firstBatch = selected.slice(0, batchSize);
  const ns = `${request.db}.${collection}`;
  const rest = body['singleBatch'] === true ? [] : selected.slice(batchSize);
  const id = request.ctx.cursors.add(ns, ownerOf(request), rest);
  return { cursor: { firstBatch, id, ns }, ok: 1 };
}

function getMore(request: CommandRequest): Document {
  const authority = requireAuthority(request);
  const id = Long.fromValue(request.body['getMore'] as Long | number);
  const collection = collectionOf(request, 'collection');
  const ns = `${request.db}.${collection}`;
  const cursor = request.ctx.cursors.get(id);
  if (!cursor) throw commandErrors.cursorNotFound(id.toString());
  if (cursor.namespace !== ns || cursor.owner !== ownerOf(request)) {
    throw commandErrors.unauthorized(request.db, 'getMore', id.toString());
  }
  demand(allows(authority, 'find', request.db, collection), request);
  const most = count(request.body['batchSize'], Number.MAX_SAFE_INTEGER);
  const { batch, id: next } = request.ctx.cursors.take(id, batchLength(cursor.remaining, most));
  return { cursor: { nextBatch: batch, id: next, ns }, ok: 1 };
}

/**
 * killCursors: a user may always kill its own cursors (no killCursors action needed, as since
 * MongoDB 4.2), and nobody else's: another user's cursor is reported not found.
 */
function killCursors(request: CommandRequest): Document {
  requireAuthority(request);
  collectionOf(request); // the collection is still required, as by the server
  const ids = Array.isArray(request.body['cursors']) ? (request.body['cursors'] as unknown[]) : [];
  const killed: Long[] = [];
  const notFound: Long[] = [];
  for (const raw of ids) {
    const id = Long.fromValue(raw as Long | number);
    const cursor = request.ctx.cursors.get(id);
    if (cursor && cursor.owner === ownerOf(request) && request.ctx.cursors.kill(id)) killed.push(id);
    else notFound.push(id);
  }
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
}

function duplicateKeyError(index: number, ns: string, id: unknown): Document {
  return {
    index: new Int32(index),
    code: new Int32(11000),
    errmsg: `E11000 duplicate key error collection: ${ns} index: _id_ dup key: { _id: ${JSON.stringify(id)} }`,
  };
}

/** A server refuses a document over 16 MiB as it is sent, before adding any `_id` (BadValue). */
function tooLargeError(index: number, size: number): Document {
  return {
    index: new Int32(index),
    code: new Int32(2),
    errmsg: `object to insert too large. size in bytes: ${size}, max size: ${maxBsonObjectSize}`,
  };
}

/**
 * insert: only with the insert action; documents stay in memory until the simulator resets. A
 * document over 16 MiB is a write error, so no stored document can make a reply too large.
 */
function insert(request: CommandRequest): Document {
  const authority = requireAuthority(request);
  const collection = collectionOf(request);
  demand(allows(authority, 'insert', request.db, collection), request);
  const docs = Array.isArray(request.body['documents'])
    ? (request.body['documents'] as StoredDocument[])
    : [];
  const data = clusterData(request);
  const ns = `${request.db}.${collection}`;
  const ordered = request.body['ordered'] !== false;
  const writeErrors: Document[] = [];
  let n = 0;
  for (const [index, doc] of docs.entries()) {
    const size = calculateObjectSize(doc);
    if (size > maxBsonObjectSize) {
      writeErrors.push(tooLargeError(index, size));
      if (ordered) break;
      continue;
    }
    const stored = doc['_id'] === undefined ? { _id: new ObjectId(), ...doc } : doc;
    if (data.documents(request.db, collection).some((d) => sameValue(d['_id'], stored['_id']))) {
      writeErrors.push(duplicateKeyError(index, ns, stored['_id']));
      if (ordered) break;
      continue;
    }
    data.insert(request.db, collection, stored);
    n += 1;
  }
  return { n: new Int32(n), ...(writeErrors.length > 0 ? { writeErrors } : {}), ok: 1 };
}

export const crudCommands: Record<string, CommandDef> = {
  find: { run: find },
  getMore: { run: getMore },
  killCursors: { run: killCursors },
  insert: { run: insert },
};
