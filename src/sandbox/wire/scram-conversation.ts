import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Random } from '../../runtime/random.js';
import { scramHash, type ScramCredential, type ScramMechanism } from '../atlas/scram-credentials.js';
import { commandErrors } from './command-error.js';

/**
 * The server side of one SCRAM conversation (RFC 5802, RFC 7677; MongoDB auth specification):
 * client-first → server-first (nonce, salt, iterations), client-final (proof) → server-final
 * (signature). The proof is checked against the stored credential only; every failure is the same
 * AuthenticationFailed, so a client cannot tell an unknown user from a wrong password.
 */
export interface ClientFirst {
  readonly username: string;
  readonly gs2Header: string;
  readonly bare: string;
  readonly nonce: string;
}

/** SCRAM usernames escape `,` as `=2C` and `=` as `=3D`. */
function unescapeName(name: string): string {
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part.slice(0, 1), part.slice(2));
  }
  return out;
}

export function parseClientFirst(payload: Buffer): ClientFirst {
  const text = payload.toString('utf8');
  // gs2 header: "n,," (no channel binding) or "y,,"; an authzid ("n,a=…,") is not supported.
  const match = /^([ny]),,(.*)$/s.exec(text);
  const bare = match?.[2];
  if (!match || bare === undefined) throw commandErrors.authenticationFailed();
  const attrs = attributes(bare);
  const username = attrs.get('n');
  const nonce = attrs.get('r');
  if (!username || !nonce) throw commandErrors.authenticationFailed();
  return { username: unescapeName(username), gs2Header: `${match[1]},,`, bare, nonce };
}

export class ScramConversation {
  private readonly serverFirst: string;
  private readonly nonce: string;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly clientFirst: ClientFirst,
    private readonly credential: ScramCredential,
    random: Random,
  ) {
    this.nonce = clientFirst.nonce + Buffer.from(random.hex(24), 'hex').toString('base64');
    this.serverFirst = `r=${this.nonce},s=${credential.salt},i=${credential.iterations}`;
  }

  get username(): string {
    return this.clientFirst.username;
  }

  serverFirstMessage(): Buffer {
    return Buffer.from(this.serverFirst, 'utf8');
  }

  /** Checks the client's proof; returns the server-final message, or throws AuthenticationFailed. */
  finish(clientFinal: Buffer): Buffer {
    const text = clientFinal.toString('utf8');
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw commandErrors.authenticationFailed();
    const withoutProof = text.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    const binding = Buffer.from(this.clientFirst.gs2Header, 'utf8').toString('base64');
    if (attrs.get('c') !== binding || attrs.get('r') !== this.nonce)
      throw commandErrors.authenticationFailed();
    const hash = scramHash(this.mechanism);
    const authMessage = `${this.clientFirst.bare},${this.serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(this.credential.storedKey, 'base64');
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const signature = createHmac(hash, storedKey).update(authMessage).digest();
    if (proof.length !== signature.length) throw commandErrors.authenticationFailed();
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ (signature[i] ?? 0)));
    const candidate = createHash(hash).update(clientKey).digest();
    if (!timingSafeEqual(candidate, storedKey)) throw commandErrors.authenticationFailed();
    const serverKey = Buffer.from(this.credential.serverKey, 'base64');
    const serverSignature = createHmac(hash, serverKey).update(authMessage).digest('base64');
    return Buffer.from(`v=${serverSignature}`, 'utf8');
  }
}
