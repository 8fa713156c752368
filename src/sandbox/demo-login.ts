import { MongoClient, MongoServerError } from 'mongodb';

/** What a grant result hands a user for logging in. */
export interface DemoCredential {
  readonly connectionString: string;
  readonly username: string;
  readonly password: string;
}

const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** A `mongosh` command line that logs in with the credential (sandbox credentials only). */
export function mongoshCommand(c: DemoCredential): string {
  return `mongosh ${quote(c.connectionString)} --username ${quote(c.username)} --password ${quote(c.password)}`;
}

/** A one-line Node.js program that logs in with the official driver and reads one document. */
export function nodeSnippet(c: DemoCredential, db: string, collection: string): string {
  const program = [
    `import { MongoClient } from "mongodb";`,
    `const c = await MongoClient.connect(${JSON.stringify(c.connectionString)}, { auth: { username: ${JSON.stringify(c.username)}, password: ${JSON.stringify(c.password)} } });`,
    `console.log(await c.db(${JSON.stringify(db)}).collection(${JSON.stringify(collection)}).findOne());`,
    `await c.close();`,
  ].join(' ');
  return `node --input-type=module -e ${quote(program)}`;
}

/**
 * Logs in once with the official driver, as the printed command would, and says what it saw:
 * the roles the server reports and a document count, or the server's refusal.
 */
export async function tryLogin(c: DemoCredential, db: string, collection: string): Promise<string> {
  const client = new MongoClient(c.connectionString, {
    auth: { username: c.username, password: c.password },
    serverSelectionTimeoutMS: 10_000,
  });
  try {
    await client.connect();
    const status = await client.db('admin').command({ connectionStatus: 1 });
    const roles = (
      status['authInfo'] as { authenticatedUserRoles: { role: string; db: string }[] }
    ).authenticatedUserRoles
      .map((r) => `${r.role}@${r.db}`)
      .join(', ');
    const docs = await client.db(db).collection(collection).find().toArray();
    return `logged in with the official driver as ${c.username} (roles: ${roles}); ${db}.${collection} holds ${docs.length} documents`;
  } catch (error) {
    if (error instanceof MongoServerError) {
      return `login refused: ${error.message} (${error.codeName ?? 'error'}, code ${String(error.code)})`;
    }
    return `login failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await client.close();
  }
}
