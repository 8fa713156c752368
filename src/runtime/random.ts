import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Randomness as a port, so jitter, ids and generated passwords are reproducible in tests. */
export interface Random {
  /** Uniform in [0, 1). */
  float(): number;
  uuid(): string;
  /** A password of `length` characters from an alphabet Atlas accepts, drawn from a CSPRNG. */
  password(length: number): string;
  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string;
}

const passwordAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export const cryptoRandom: Random = {
  // 48 random bits: randomInt's range must stay below 2^48, so read the bytes directly.
  float: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  uuid: () => randomUUID(),
  password: (length) => {
    let out = '';
    for (let i = 0; i < length; i += 1) out += passwordAlphabet[randomInt(0, passwordAlphabet.length)];
    return out;
  },
  hex: (bytes) => randomBytes(bytes).toString('hex'),
};
