import type { CryptoKey, JWK } from 'jose';

/** Loaded on the first grant that asks for encryption: jose costs ~10 MB a daemon may never need. */
const loadJose = () => import('jose');
import { z } from 'zod';
import type { AdapterDeps } from '../../adapter.js';
import type { RecipientJwk } from './payloads.js';
import { invalidRequest } from './policy.js';

/**
 * Credential delivery. With a recipient public key (JWK) the `{username, password}` pair is
 * encrypted to it as a compact JWE, so the control plane stores only ciphertext and the plaintext
 * password appears nowhere in the result.
 */

/** Key-management algorithms per key type; RSA1_5 is left out on purpose (padding-oracle prone). */
const algorithms = {
  RSA: ['RSA-OAEP-256', 'RSA-OAEP', 'RSA-OAEP-384', 'RSA-OAEP-512'],
  EC: ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'],
  OKP: ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'],
} as const;

export const contentEncryption = 'A256GCM';

const publicParts = z.discriminatedUnion('kty', [
  z.object({ kty: z.literal('RSA'), n: z.string().min(1), e: z.string().min(1) }),
  z.object({ kty: z.literal('EC'), crv: z.string().min(1), x: z.string().min(1), y: z.string().min(1) }),
  z.object({ kty: z.literal('OKP'), crv: z.string().min(1), x: z.string().min(1) }),
]);

export interface RecipientKey {
  readonly key: CryptoKey;
  readonly alg: string;
  readonly kid?: string;
}

type RecipientJwkInput = z.infer<typeof RecipientJwk>;

function chooseAlgorithm(jwk: RecipientJwkInput): string {
  const allowed: readonly string[] = algorithms[jwk.kty];
  const alg = jwk.alg ?? allowed[0] ?? '';
  if (!allowed.includes(alg)) {
    throw invalidRequest(
      'recipientPublicKey.alg',
      `${alg} is not a key-encryption algorithm for a ${jwk.kty} key`,
    );
  }
  return alg;
}

/** An RSA public exponent below 65537 (e = 1 leaves the padded key in the clear) or even is refused. */
function checkRsaExponent(e: string, field: string): void {
  const hex = Buffer.from(e, 'base64url').toString('hex');
  const exponent = BigInt(`0x${hex || '0'}`);
  if (exponent < 65_537n || exponent % 2n === 0n) {
    throw invalidRequest(`${field}.e`, 'must be an odd RSA public exponent of at least 65537 ("AQAB")');
  }
}

/**
 * Parses and imports the recipient key before anything is written to Atlas: a key that cannot
 * encrypt must fail the grant (or rotation) while nothing has changed yet. Importing is not enough
 * (jose checks an RSA key's size only when it encrypts), so a throw-away credential is encrypted
 * to it here.
 */
export async function importRecipientKey(jwk: RecipientJwkInput): Promise<RecipientKey> {
  const field = 'recipientPublicKey';
  if (['d', 'p', 'q', 'dp', 'dq', 'qi'].some((member) => jwk[member] !== undefined)) {
    throw invalidRequest(field, 'must be a public key (it carries private key material)');
  }
  if (jwk['use'] !== undefined && jwk['use'] !== 'enc') throw invalidRequest(`${field}.use`, 'must be "enc"');
  const parts = publicParts.safeParse(jwk);
  if (!parts.success) throw invalidRequest(field, `is not a complete ${jwk.kty} public JWK`);
  if (parts.data.kty === 'RSA') checkRsaExponent(parts.data.e, field);
  const alg = chooseAlgorithm(jwk);
  const material: JWK = { ...parts.data, alg };
  try {
    const { importJWK } = await loadJose();
    const key = await importJWK(material, alg);
    if (key instanceof Uint8Array) throw new Error('a symmetric key');
    const recipient = { key, alg, ...(jwk.kid === undefined ? {} : { kid: jwk.kid }) };
    await encryptCredential(recipient, { username: 'probe', password: 'probe' });
    return recipient;
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unknown reason';
    throw invalidRequest(field, `cannot be used to encrypt (${reason.slice(0, 200)})`);
  }
}

export async function encryptCredential(
  recipient: RecipientKey,
  credential: { readonly username: string; readonly password: string },
): Promise<string> {
  const plaintext = new TextEncoder().encode(JSON.stringify(credential));
  const { CompactEncrypt } = await loadJose();
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({
      alg: recipient.alg,
      enc: contentEncryption,
      cty: 'application/json',
      ...(recipient.kid === undefined ? {} : { kid: recipient.kid }),
    })
    .encrypt(recipient.key);
}

/** How a result carries the password: plaintext, a JWE, or "unchanged" when none was issued. */
export type CredentialFields =
  { readonly password: string } | { readonly credential: string } | { readonly passwordUnchanged: true };

export async function credentialFields(
  username: string,
  password: string | undefined,
  recipient: RecipientKey | undefined,
): Promise<CredentialFields> {
  if (password === undefined) return { passwordUnchanged: true };
  if (recipient === undefined) return { password };
  return { credential: await encryptCredential(recipient, { username, password }) };
}

/** Passwords are long random strings from the injected CSPRNG, registered for log scrubbing at once. */
export const passwordLength = 32;

export function issuePassword(deps: Pick<AdapterDeps, 'random' | 'registerSecret'>): string {
  const password = deps.random.password(passwordLength);
  deps.registerSecret(password);
  return password;
}
