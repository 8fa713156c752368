/**
 * Removes secrets from text that may reach a log line or an error message: credentials inside
 * MongoDB URIs, bearer / basic / digest authorization values, and every secret value registered
 * at run time (the control-plane token, the Atlas private key once read, issued passwords).
 */
export interface SecretScrubber {
  /** Registers a value that must never appear in output. Values shorter than 6 characters are ignored. */
  add(value: string | undefined): void;
  scrub(text: string): string;
  /** Deep copy of `value` with every string scrubbed. */
  scrubDeep<T>(value: T): T;
}

const uriCredentials = /(mongodb(?:\+srv)?:\/\/)[^@/\s]+@/gi;
const authorizationValue = /\b(Bearer|Basic|Digest)\s+[^\s"',]+/gi;

export function createSecretScrubber(): SecretScrubber {
  const secrets = new Set<string>();
  let ordered: string[] = [];

  const scrub = (text: string): string => {
    // Registered values first: a pattern that redacts only part of one (a bearer value ending at
    // a line break inside it) would leave the rest unmatched and in clear.
    let out = text;
    for (const secret of ordered) {
      if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
    }
    return out.replace(uriCredentials, '$1[REDACTED]@').replace(authorizationValue, '$1 [REDACTED]');
  };

  const scrubDeep = <T>(value: T, depth = 0): T => {
    if (typeof value === 'string') return scrub(value) as T;
    // Errors are left whole for the logger's error serialiser, which scrubs their fields.
    if (depth > 8 || value === null || typeof value !== 'object' || value instanceof Error) return value;
    if (Array.isArray(value)) return value.map((item: unknown) => scrubDeep(item, depth + 1)) as T;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = scrubDeep(item, depth + 1);
    return out as T;
  };

  return {
    add(value) {
      if (!value || value.length < 6 || secrets.has(value)) return;
      secrets.add(value);
      // Longest first, so a secret that contains another is removed whole.
      ordered = [...secrets].sort((a, b) => b.length - a.length);
    },
    scrub,
    scrubDeep: (value) => scrubDeep(value),
  };
}
