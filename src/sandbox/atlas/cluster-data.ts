import type { ClusterRec } from './model.js';

/** A stored document: what the wire endpoint serves and `insert` adds (BSON values kept as decoded). */
export type StoredDocument = Record<string, unknown>;

type Databases = Map<string, Map<string, StoredDocument[]>>;

function sampleDocuments(collection: string): StoredDocument[] {
  return [1, 2, 3].map((n) => ({ _id: n, name: `${collection} ${n}` }));
}

/**
 * The data of one simulated cluster, in memory: the fixture's databases (the ones
 * `processes/{id}/databases` reports), their collections and documents. Rebuilt on reset.
 */
export class ClusterData {
  private readonly databases: Databases = new Map();

  constructor(cluster: ClusterRec) {
    const listed = cluster.processes[0]?.databases ?? cluster.databases;
    for (const db of listed) {
      const collections = new Map<string, StoredDocument[]>();
      for (const name of db.collections) {
        const seeded = db.documents?.[name];
        collections.set(name, seeded ? structuredClone(seeded) : sampleDocuments(name));
      }
      this.databases.set(db.name, collections);
    }
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  collectionNames(database: string): string[] {
    return [...(this.databases.get(database)?.keys() ?? [])];
  }

  documents(database: string, collection: string): readonly StoredDocument[] {
    return this.databases.get(database)?.get(collection) ?? [];
  }

  /** Appends to a collection, creating it (and its database) as a server does on first insert. */
  insert(database: string, collection: string, doc: StoredDocument): void {
    let collections = this.databases.get(database);
    if (!collections) {
      collections = new Map();
      this.databases.set(database, collections);
    }
    const docs = collections.get(collection) ?? [];
    docs.push(doc);
    collections.set(collection, docs);
  }
}
