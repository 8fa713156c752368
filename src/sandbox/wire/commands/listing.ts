import { Int32, Long, type Document } from 'bson';
import type { ClusterData } from '../../atlas/cluster-data.js';
import { commandErrors } from '../command-error.js';
import { currentCluster } from '../endpoint-context.js';
import { allows, allowsOnCluster, hasAnyPrivilegeOn } from '../privileges.js';
import { demand, requireAuthority } from './authority.js';
import type { CommandDef, CommandRequest } from './command.js';
import { matches } from './matching.js';

/** System databases every mongod reports alongside the data. */
const systemDatabases = ['admin', 'config', 'local'];

export function clusterData(request: CommandRequest): ClusterData {
  const data = request.ctx.state.clusterData.get(currentCluster(request.ctx).id);
  if (!data) throw new Error(`no data for cluster ${request.ctx.clusterId}`);
  return data;
}

/** The command's `filter`, applied to each entry of the answer as the server does (the sandbox's subset). */
function filterOf(request: CommandRequest): (entry: Document) => boolean {
  const filter = request.body['filter'];
  if (filter === undefined || filter === null) return () => true;
  if (typeof filter !== 'object' || Array.isArray(filter))
    throw commandErrors.typeMismatch("BSON field 'filter' is the wrong type, expected type 'object'");
  return (entry) => matches(entry, filter as Document);
}

function sizeOf(data: ClusterData, db: string): number {
  const docs = data.collectionNames(db).flatMap((c) => data.documents(db, c));
  return docs.length === 0 ? 0 : 8192 * (1 + Math.ceil(docs.length / 100));
}

/**
 * listDatabases (its `filter` applied to the entries): everything with the cluster-wide
 * listDatabases action (unless `authorizedDatabases: true`); otherwise only databases the user has
 * some privilege on, unless `authorizedDatabases: false` asks for all, which is refused.
 */
function listDatabases(request: CommandRequest): Document {
  const authority = requireAuthority(request);
  const { body } = request;
  if (request.db !== 'admin') throw commandErrors.unauthorized(request.db, request.name, body[request.name]);
  const mayListAll = allowsOnCluster(authority, 'listDatabases');
  const authorizedOnly =
    body['authorizedDatabases'] === true || (body['authorizedDatabases'] === undefined && !mayListAll);
  demand(mayListAll || authorizedOnly, request);
  const data = clusterData(request);
  const names = [...data.databaseNames(), ...systemDatabases].filter(
    (db) => !authorizedOnly || hasAnyPrivilegeOn(authority, db),
  );
  const keep = filterOf(request);
  if (body['nameOnly'] === true) return { databases: names.map((name) => ({ name })).filter(keep), ok: 1 };
  const databases = names
    .map((name) => {
      const size = sizeOf(data, name);
      return { name, sizeOnDisk: Long.fromNumber(size), empty: size === 0 };
    })
    .filter(keep);
  const totalSize = databases.reduce((sum, d) => sum + d.sizeOnDisk.toNumber(), 0);
  return {
    databases,
    totalSize: Long.fromNumber(totalSize),
    totalSizeMb: Long.fromNumber(Math.floor(totalSize / 1048576)),
    ok: 1,
  };
}

/**
 * listCollections (its `filter` applied to the entries): needs listCollections on the database,
 * or `authorizedCollections: true` with `nameOnly: true`, which lists only the collections the
 * user has a privilege on.
 */
function listCollections(request: CommandRequest): Document {
  const authority = requireAuthority(request);
  const { body, db } = request;
  const nameOnly = body['nameOnly'] === true;
  const mayList = allows(authority, 'listCollections', db);
  const authorizedOnly = !mayList && body['authorizedCollections'] === true && nameOnly;
  demand(mayList || authorizedOnly, request);
  const names = clusterData(request)
    .collectionNames(db)
    .filter((c) => !authorizedOnly || hasAnyPrivilegeOn(authority, db, c));
  const firstBatch = names
    .map((name) =>
      nameOnly
        ? { name, type: 'collection' }
        : {
            name,
            type: 'collection',
            options: {},
            info: { readOnly: false },
            idIndex: { v: new Int32(2), key: { _id: new Int32(1) }, name: '_id_' },
          },
    )
    .filter(filterOf(request));
  return { cursor: { id: Long.ZERO, ns: `${db}.$cmd.listCollections`, firstBatch }, ok: 1 };
}

export const listingCommands: Record<string, CommandDef> = {
  listDatabases: { run: listDatabases },
  listCollections: { run: listCollections },
};
