import { MongoClient, MongoServerError } from 'mongodb';
import { expect } from 'vitest';

/** What a grant result carries for logging in. */
export interface IssuedCredential {
  readonly connectionString: string;
  readonly username: string;
  readonly password?: string;
  readonly roles: readonly { roleName: string; databaseName: string; collectionName?: string }[];
}

export interface Namespace {
  readonly db: string;
  readonly collection: string;
}

/**
 * Logs in once, with the connection string exactly as the grant returned it and the issued
 * password: no retry and no wait, so a credential that is not usable on first use fails the test.
 */
export async function loginOnce(
  credential: IssuedCredential,
  password = credential.password,
): Promise<MongoClient> {
  const client = new MongoClient(credential.connectionString, {
    auth: { username: credential.username, password: password ?? '' },
    // Generous bounds for a loaded machine; an authentication failure is reported at once anyway.
    serverSelectionTimeoutMS: 20_000,
    connectTimeoutMS: 20_000,
  });
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.close();
    throw error;
  }
}

export async function expectLoginRefused(
  credential: IssuedCredential,
  password = credential.password,
): Promise<void> {
  const outcome = await loginOnce(credential, password).then(
    async (client) => {
      await client.close();
      return new Error(`${credential.username} could still log in`);
    },
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(MongoServerError);
  expect(outcome).toMatchObject({ code: 18, codeName: 'AuthenticationFailed' });
}

const asServerRole = (r: IssuedCredential['roles'][number]) => ({
  role: r.roleName,
  db: r.databaseName,
  ...(r.collectionName !== undefined ? { collection: r.collectionName } : {}),
});

const byKey = (a: { role: string; db: string }, b: { role: string; db: string }) =>
  `${a.role}@${a.db}`.localeCompare(`${b.role}@${b.db}`);

export interface GrantProof {
  /** A collection the grant reads. */
  readonly reads: Namespace;
  /** A collection the grant does not cover: find must be refused. */
  readonly refusedRead?: Namespace;
  /** A collection the grant may not write (a `read` grant): insert must be refused. */
  readonly refusedWrite?: Namespace;
  /** The roles connectionStatus must show; defaults to the result's roles. */
  readonly roles?: IssuedCredential['roles'];
}

/**
 * Proves a grant on first use: logs in (no retry), connectionStatus shows exactly the granted
 * roles, the granted collection reads, and what was not granted is refused with Unauthorized.
 */
export async function proveGrant(credential: IssuedCredential, proof: GrantProof): Promise<void> {
  const client = await loginOnce(credential);
  try {
    const status = await client.db('admin').command({ connectionStatus: 1, showPrivileges: true });
    const authInfo = status['authInfo'] as { authenticatedUserRoles: { role: string; db: string }[] };
    expect([...authInfo.authenticatedUserRoles].sort(byKey)).toEqual(
      (proof.roles ?? credential.roles).map(asServerRole).sort(byKey),
    );
    const { reads, refusedRead, refusedWrite } = proof;
    const docs = await client.db(reads.db).collection(reads.collection).find({}, { limit: 1 }).toArray();
    expect(docs).toHaveLength(1);
    if (refusedRead) {
      await expect(
        client.db(refusedRead.db).collection(refusedRead.collection).findOne(),
      ).rejects.toMatchObject({ code: 13, codeName: 'Unauthorized' });
    }
    if (refusedWrite) {
      await expect(
        client.db(refusedWrite.db).collection(refusedWrite.collection).insertOne({ probe: true }),
      ).rejects.toMatchObject({ code: 13, codeName: 'Unauthorized' });
    }
  } finally {
    await client.close();
  }
}

/**
 * Two grants of one requester on two clusters stay two boundaries: the `read` credential reads its
 * cluster's `sales.orders` and may not write it (13), and the `readWrite` one, another user, writes
 * on its own cluster and does not log in to the first at all (18).
 */
export async function expectSeparateClusterUsers(
  read: IssuedCredential,
  readWrite: IssuedCredential,
): Promise<void> {
  expect(readWrite.username).not.toBe(read.username);
  const onReadCluster = await loginOnce(read);
  try {
    await expect(onReadCluster.db('sales').collection('orders').findOne()).resolves.not.toBeNull();
    const write = onReadCluster.db('sales').collection('orders').insertOne({ probe: 'boundary' });
    await expect(write).rejects.toBeInstanceOf(MongoServerError);
    await expect(write).rejects.toMatchObject({ code: 13, codeName: 'Unauthorized' });
  } finally {
    await onReadCluster.close();
  }
  const onItsOwn = await loginOnce(readWrite);
  try {
    await onItsOwn.db('sales').collection('probes').insertOne({ probe: 'boundary' });
  } finally {
    await onItsOwn.close();
  }
  await expectLoginRefused({ ...readWrite, connectionString: read.connectionString });
}
