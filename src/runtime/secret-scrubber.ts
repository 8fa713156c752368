/**
 * Removes secrets from text that may reach a log line or an error message: credentials inside
 * URLs (MongoDB connection strings, proxy URLs), bearer / basic / digest authorization values, and
 * every secret value registered at run time (the control-plane token, the proxy password and the
 * cloud credentials in the environment, the Atlas private key once read, issued passwords).
 */
export interface SecretScrubber {
  /** Registers a value that must never appear in output. Values shorter than 6 characters are ignored. */
  add(value: string | undefined): void;
  scrub(text: string): string;
  /**
   * Deep copy of `value` with every string and every key scrubbed. An Error, under any key,
   * becomes `describeError(error)` (by default its type, scrubbed message and code: never its other
   * fields, which may hold a request's headers); an object or array nested deeper than 8 levels
   * becomes `[TRUNCATED]`.
   */
  scrubDeep<T>(value: T, describeError?: (error: Error) => unknown): T;
}

/** What stands for an object or array nested deeper than `maxDepth`. */
const truncatedMarker = '[TRUNCATED]';
const maxDepth = 8;

/**
 * The userinfo of any URL (a MongoDB connection string, a proxy's `http://user:password@`), up to
 * the authority's last `@`: a password may hold an `@` a careless writer did not percent-encode,
 * and an apostrophe, which userinfo may carry as is. It stops at a character no URL holds as is
 * (`"`, `<`, `>`: the end of a quoted or bracketed URL) so it never reaches an e-mail beyond it.
 */
const uriCredentials = /([a-z][a-z0-9+.-]*:\/\/)[^/\s?#"<>]+@/gi;
const authorizationValue = /\b(Bearer|Basic|Digest)\s+[^\s"',]+/gi;

/**
 * A Digest credential is a list of auth-params (RFC 7616 §3.4), not one word: its `nonce`,
 * `cnonce`, `nc` and `response` answer the server's challenge and are redacted with the rest, up to
 * the list's end. A value is a token, a quoted string, or a quoted string whose quotes a JSON text
 * that echoes the header escaped (`\"`).
 */
const authParamValue = String.raw`(?:\\"(?:(?!\\").)*\\"|"(?:[^"\\]|\\.)*"|[^\s,"\\]+)`;
const authParam = String.raw`[a-z0-9_-]+\s*=\s*${authParamValue}`;
const digestCredentials = new RegExp(String.raw`\b(Digest)\s+${authParam}(?:\s*,\s*${authParam})*`, 'gi');

/** Registered values shorter than this are ignored; it is also the prefix length of the index. */
const minSecretLength = 6;
/** Up to this many registered values, each is looked for with `includes`; beyond, the index scans. */
const linearScanLimit = 64;

/**
 * The registered values, findable in a text at a cost that does not grow with their number: a
 * long-lived connector registers every password it issues, tens of thousands of them.
 */
class SecretIndex {
  private readonly all = new Set<string>();
  /** By the first `minSecretLength` characters, for the scan. */
  private readonly byPrefix = new Map<string, string[]>();

  add(value: string): void {
    if (this.all.has(value)) return;
    this.all.add(value);
    const prefix = value.slice(0, minSecretLength);
    // In place: values sharing a prefix (OAuth tokens all start `eyJhbG`) would make copying the
    // bucket on every add quadratic in their number.
    const bucket = this.byPrefix.get(prefix);
    if (bucket) bucket.push(value);
    else this.byPrefix.set(prefix, [value]);
  }

  /**
   * Every occurrence of every registered value, overlapping ones included, is covered; the covered
   * stretches are redacted as a whole, so no part of a value survives an overlap with another.
   */
  redact(text: string): string {
    const spans = this.all.size <= linearScanLimit ? this.spansBySearch(text) : this.spansByScan(text);
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0]);
    let out = '';
    let from = 0;
    let end = -1;
    for (const [start, stop] of spans) {
      if (start > end) {
        if (end >= 0) out += '[REDACTED]';
        out += text.slice(from, start);
      }
      end = Math.max(end, stop);
      from = end;
    }
    return `${out}[REDACTED]${text.slice(from)}`;
  }

  private spansBySearch(text: string): [number, number][] {
    const spans: [number, number][] = [];
    for (const secret of this.all) {
      for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) {
        spans.push([at, at + secret.length]);
      }
    }
    return spans;
  }

  private spansByScan(text: string): [number, number][] {
    const spans: [number, number][] = [];
    for (let i = 0; i + minSecretLength <= text.length; i += 1) {
      const candidates = this.byPrefix.get(text.slice(i, i + minSecretLength));
      if (!candidates) continue;
      for (const secret of candidates) {
        if (text.startsWith(secret, i)) spans.push([i, i + secret.length]);
      }
    }
    return spans;
  }
}

export function createSecretScrubber(): SecretScrubber {
  const secrets = new SecretIndex();

  const scrub = (text: string): string => {
    // Registered values first: a pattern that redacts only part of one (a bearer value ending at
    // a line break inside it) would leave the rest unmatched and in clear.
    const out = secrets.redact(text);
    // A digest credential before the one-word rule, which would leave the list after its first word.
    return out
      .replace(uriCredentials, '$1[REDACTED]@')
      .replace(digestCredentials, '$1 [REDACTED]')
      .replace(authorizationValue, '$1 [REDACTED]');
  };

  const describeByDefault = (error: Error): Record<string, unknown> => {
    const { code } = error as Error & { code?: unknown };
    const out: Record<string, unknown> = { type: error.name, message: scrub(error.message) };
    if (typeof code === 'string') out.code = scrub(code);
    else if (typeof code === 'number') out.code = code;
    return out;
  };

  const scrubDeep = (value: unknown, describeError: (error: Error) => unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof Error) return describeError(value);
    if (depth > maxDepth) return truncatedMarker;
    if (Array.isArray(value)) return value.map((item: unknown) => scrubDeep(item, describeError, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[scrub(key)] = scrubDeep(item, describeError, depth + 1);
    }
    return out;
  };

  return {
    add(value) {
      if (!value || value.length < minSecretLength) return;
      secrets.add(value);
    },
    scrub,
    scrubDeep: <T>(value: T, describeError = describeByDefault) => scrubDeep(value, describeError, 0) as T,
  };
}
