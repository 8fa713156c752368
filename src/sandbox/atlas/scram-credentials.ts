import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { saslprep } from '@mongodb-js/saslprep';
import type { Random } from '../../runtime/random.js';

/**
 * How the simulator keeps a database user's password: SCRAM credentials (salt, iteration count,
 * StoredKey, ServerKey) as a MongoDB server stores them (RFC 5802 / RFC 7677, MongoDB auth spec),
 * derived once when the password is set. They are enough to run a SCRAM conversation and useless
 * for logging in, so the password itself is never kept.
 */
export type ScramMechanism = 'SCRAM-SHA-1' | 'SCRAM-SHA-256';

export interface ScramCredential {
  /** base64 */
  readonly salt: string;
  readonly iterations: number;
  /** base64 H(ClientKey) */
  readonly storedKey: string;
  /** base64 HMAC(SaltedPassword, "Server Key") */
  readonly serverKey: string;
}

export type ScramCredentials = Readonly<Record<ScramMechanism, ScramCredential>>;

export const scramMechanisms: readonly ScramMechanism[] = ['SCRAM-SHA-1', 'SCRAM-SHA-256'];

interface MechanismParams {
  readonly hash: 'sha1' | 'sha256';
  readonly keyLength: number;
  readonly saltBytes: number;
}

const params: Record<ScramMechanism, MechanismParams> = {
  'SCRAM-SHA-1': { hash: 'sha1', keyLength: 20, saltBytes: 16 },
  'SCRAM-SHA-256': { hash: 'sha256', keyLength: 32, saltBytes: 28 },
};

/**
 * 5000 is the lowest iteration count a MongoDB server accepts (its defaults are 10000 and 15000):
 * the simulator derives credentials inside synchronous request handlers, and under the benchmark's
 * 500-grant load a third of the derivation time matters. Drivers accept anything from 4096.
 */
export const scramIterations = 5000;

export function scramHash(mechanism: ScramMechanism): MechanismParams['hash'] {
  return params[mechanism].hash;
}

/**
 * The password as SCRAM hashes it: SCRAM-SHA-256 takes the SASLprep'd password (RFC 4013, by the
 * implementation the driver uses, so both sides prepare it alike), SCRAM-SHA-1 takes MongoDB's
 * legacy digest hex(MD5("user:mongo:password")). A password SASLprep refuses (prohibited or
 * unassigned code points) is hashed as given rather than failing the request: the driver will not
 * send it over SCRAM-SHA-256, and SCRAM-SHA-1 does not prepare passwords.
 */
function preparedPassword(mechanism: ScramMechanism, username: string, password: string): string {
  if (mechanism === 'SCRAM-SHA-256') return saslprepOrAsGiven(password);
  return createHash('md5').update(`${username}:mongo:${password}`).digest('hex');
}

function saslprepOrAsGiven(password: string): string {
  try {
    return saslprep(password);
  } catch {
    return password;
  }
}

function keysFrom(
  mechanism: ScramMechanism,
  saltedPassword: Buffer,
): { storedKey: Buffer; serverKey: Buffer } {
  const { hash } = params[mechanism];
  const clientKey = createHmac(hash, saltedPassword).update('Client Key').digest();
  return {
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: createHmac(hash, saltedPassword).update('Server Key').digest(),
  };
}

function derive(
  mechanism: ScramMechanism,
  username: string,
  password: string,
  salt: Buffer,
  iterations: number,
): { storedKey: Buffer; serverKey: Buffer } {
  const { hash, keyLength } = params[mechanism];
  const salted = pbkdf2Sync(
    preparedPassword(mechanism, username, password),
    salt,
    iterations,
    keyLength,
    hash,
  );
  return keysFrom(mechanism, salted);
}

export function deriveScramCredentials(username: string, password: string, random: Random): ScramCredentials {
  const one = (mechanism: ScramMechanism): ScramCredential => {
    const salt = Buffer.from(random.hex(params[mechanism].saltBytes), 'hex');
    const { storedKey, serverKey } = derive(mechanism, username, password, salt, scramIterations);
    return {
      salt: salt.toString('base64'),
      iterations: scramIterations,
      storedKey: storedKey.toString('base64'),
      serverKey: serverKey.toString('base64'),
    };
  };
  return { 'SCRAM-SHA-1': one('SCRAM-SHA-1'), 'SCRAM-SHA-256': one('SCRAM-SHA-256') };
}

/** Whether `password` is the one these credentials were derived from (for the test inspector). */
export function scramPasswordMatches(
  credentials: ScramCredentials,
  username: string,
  password: string,
): boolean {
  const cred = credentials['SCRAM-SHA-256'];
  const { storedKey } = derive(
    'SCRAM-SHA-256',
    username,
    password,
    Buffer.from(cred.salt, 'base64'),
    cred.iterations,
  );
  return timingSafeEqual(storedKey, Buffer.from(cred.storedKey, 'base64'));
}
