import { performance } from 'node:perf_hooks';
import { MongoClient, MongoServerError } from 'mongodb';

export interface LoginCredential {
  readonly connectionString: string;
  readonly username: string;
  readonly password: string;
}

export interface LoginOutcome {
  readonly ok: boolean;
  /** From the call to the first command answered on an authenticated connection. */
  readonly ms: number;
  readonly error?: string;
}

/**
 * One driver login, exactly once: connect with the credential and run `ping`, which needs an
 * authenticated pool connection. No credential means a bare connect (the bound).
 */
export async function timedLogin(
  connectionString: string,
  credential?: Omit<LoginCredential, 'connectionString'>,
): Promise<LoginOutcome> {
  const started = performance.now();
  const client = new MongoClient(connectionString, {
    ...(credential ? { auth: { username: credential.username, password: credential.password } } : {}),
    serverSelectionTimeoutMS: 30_000,
    connectTimeoutMS: 30_000,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return { ok: true, ms: performance.now() - started };
  } catch (error) {
    const detail =
      error instanceof MongoServerError ? `${error.codeName ?? ''} ${error.message}` : String(error);
    return { ok: false, ms: performance.now() - started, error: detail.slice(0, 200) };
  } finally {
    await client.close();
  }
}
