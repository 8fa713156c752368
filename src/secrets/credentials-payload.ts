import { z } from 'zod';
import type { AtlasCredentials } from '../atlas/credentials.js';
import { ConnectorError } from '../errors/connector-error.js';
import { parseJsonText } from '../runtime/json-text.js';
import { quoteReference } from './secret-reference.js';

const expectedShape = 'expected {"public_key","private_key"} or {"client_id","client_secret"}';

// Messages describe the field, never its value: the payload is the Atlas credential. Whitespace is
// checked first, and alone: a public key with a stray space or newline is told so, not that its
// length is wrong (or, eight characters with the space, let through for Atlas to refuse).
const field = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is missing' : `must be a string (${what})`) })
    .refine((value) => value.trim() === value, {
      error: `must not have leading or trailing whitespace (${what})`,
      abort: true,
    });

const secretField = (what: string) => field(what).min(1, `must not be empty (${what})`);

const ApiKeyPayloadSchema = z.object({
  public_key: field('the Atlas API public key').length(8, 'must be 8 characters (an Atlas API public key)'),
  private_key: secretField('the Atlas API private key'),
});

const ServiceAccountPayloadSchema = z.object({
  client_id: field('the Atlas service account client id').regex(
    /^mdb_sa_id_[a-fA-F0-9]{24}$/,
    'must be mdb_sa_id_ followed by 24 hex characters (an Atlas service account client id)',
  ),
  client_secret: secretField('the Atlas service account secret'),
});

const apiKeyFields = ['public_key', 'private_key'] as const;
const serviceAccountFields = ['client_id', 'client_secret'] as const;
const credentialFields: readonly string[] = [...apiKeyFields, ...serviceAccountFields];
const namingRule = 'field names are snake_case, exactly as shown, with no surrounding whitespace';
/** Fields that identify a credential without being secret; everything else may be. */
const identifierFields: ReadonlySet<string> = new Set(['public_key', 'client_id']);

/**
 * Turns the text stored in a secret into Atlas credentials. Extra fields are ignored (teams keep
 * notes next to the key); a payload holding fields of both shapes is rejected as ambiguous, because
 * silently picking one would hide a half-finished migration from API keys to a service account.
 */
export function parseCredentialsPayload(text: string, reference: string): AtlasCredentials {
  const object = jsonObject(text, reference);
  const has = (key: string): boolean => Object.hasOwn(object, key);
  const isApiKey = apiKeyFields.some(has);
  const isServiceAccount = serviceAccountFields.some(has);
  if (isApiKey && isServiceAccount) {
    throw invalidPayload(
      reference,
      'has fields of both an API key (public_key, private_key) and a service account (client_id, client_secret); keep one pair',
    );
  }
  if (isApiKey) {
    const payload = validate(ApiKeyPayloadSchema, object, reference);
    return { type: 'api-key', publicKey: payload.public_key, privateKey: payload.private_key };
  }
  if (isServiceAccount) {
    const payload = validate(ServiceAccountPayloadSchema, object, reference);
    return { type: 'service-account', clientId: payload.client_id, clientSecret: payload.client_secret };
  }
  const misspelt = misspeltFields(object, credentialFields);
  const hint = misspelt.length > 0 ? `; ${foundInstead(misspelt)}` : '';
  throw invalidPayload(reference, `has none of the credential fields (${expectedShape})${hint}`);
}

/**
 * Keys that are a missing credential field's name in another case, with dashes or without
 * underscores, or with whitespace around it (`privateKey`, `"private_key "`): the reader sees the
 * field, so "is missing" alone would send them looking in the wrong place. Only such keys are
 * echoed; a key holding anything more (a value pasted into it) is not.
 */
function misspeltFields(object: Record<string, unknown>, fields: readonly string[]): string[] {
  const loose = (name: string) => name.toLowerCase().replace(/[\s_-]/g, '');
  const missing = new Set(fields.filter((field) => !Object.hasOwn(object, field)).map(loose));
  return Object.keys(object).filter((key) => !credentialFields.includes(key) && missing.has(loose(key)));
}

function foundInstead(keys: readonly string[]): string {
  return `found ${keys.map((key) => JSON.stringify(key)).join(', ')}: ${namingRule}`;
}

/**
 * Strings in a payload that may be secret, for the log scrubber, including from payloads that
 * failed validation (a private key under a misspelt field, or a bare key that is not JSON).
 */
export function possibleSecretsIn(text: string): string[] {
  const object = tryJsonObject(text);
  if (!object) return [text.trim()];
  return Object.entries(object)
    .filter(([key, value]) => !identifierFields.has(key) && typeof value === 'string')
    .map(([, value]) => String(value));
}

function jsonObject(text: string, reference: string): Record<string, unknown> {
  const value = tryJson(text);
  if (value === undefined) throw invalidPayload(reference, `is not JSON (${expectedShape})`);
  if (!isObject(value)) throw invalidPayload(reference, `is JSON but not an object (${expectedShape})`);
  return value;
}

function tryJsonObject(text: string): Record<string, unknown> | undefined {
  const value = tryJson(text);
  return isObject(value) ? value : undefined;
}

/**
 * A leading UTF-8 byte order mark (Windows editors save one) is dropped, as the AWS backend's
 * TextDecoder drops it from a SecretBinary: the same file must not be JSON in one store and not
 * in another.
 */
function tryJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validate<T>(schema: z.ZodType<T>, object: Record<string, unknown>, reference: string): T {
  const parsed = schema.safeParse(object);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const [field] = issue.path;
    const misspelt = typeof field === 'string' ? misspeltFields(object, [field]) : [];
    const hint = misspelt.length > 0 ? ` (${foundInstead(misspelt)})` : '';
    return `${issue.path.join('.')} ${issue.message}${hint}`;
  });
  throw invalidPayload(reference, problems.join('; '));
}

function invalidPayload(reference: string, problem: string): ConnectorError {
  return new ConnectorError({
    code: 'secret_invalid',
    message: `secret ${quoteReference(reference)} ${problem}`,
    details: { secretRef: reference },
  });
}
