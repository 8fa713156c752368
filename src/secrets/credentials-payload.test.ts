import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../errors/connector-error.js';
import { parseCredentialsPayload, possibleSecretsIn } from './credentials-payload.js';

const reference = 'aws-sm://prod/atlas?region=us-east-1';
const privateKey = '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21';
const clientSecret = 'mdb_sa_sk_Zq8vN3pL6tR1wX4yB7cE0hJ2kM5nQ9sU';
const clientId = 'mdb_sa_id_0123456789abcdef01234567';
const apiKey = { public_key: 'abcdefgh', private_key: privateKey };
const serviceAccount = { client_id: clientId, client_secret: clientSecret };
const namingRule = 'field names are snake_case, exactly as shown, with no surrounding whitespace';

function payloadError(payload: unknown): ConnectorError {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  try {
    parseCredentialsPayload(text, reference);
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error('expected the payload to be rejected');
}

describe('parseCredentialsPayload', () => {
  it('reads an API key', () => {
    expect(parseCredentialsPayload(JSON.stringify(apiKey), reference)).toEqual({
      type: 'api-key',
      publicKey: 'abcdefgh',
      privateKey,
    });
  });

  it('reads a service account', () => {
    expect(parseCredentialsPayload(JSON.stringify(serviceAccount), reference)).toEqual({
      type: 'service-account',
      clientId,
      clientSecret,
    });
  });

  it('ignores fields beyond the credential, such as a note', () => {
    const text = JSON.stringify({ ...apiKey, description: 'rotated monthly' });
    expect(parseCredentialsPayload(text, reference)).toMatchObject({ type: 'api-key' });
  });

  it('reads a payload that starts with a UTF-8 byte order mark, as a SecretBinary is read', () => {
    // Windows editors save one; the AWS backend's TextDecoder already drops it from a SecretBinary.
    expect(parseCredentialsPayload(`\uFEFF${JSON.stringify(apiKey)}`, reference)).toEqual({
      type: 'api-key',
      publicKey: 'abcdefgh',
      privateKey,
    });
  });

  it('says a payload that is not JSON is not JSON, naming the reference and the expected shape', () => {
    const error = payloadError(privateKey);
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toBe(
      `secret "${reference}" is not JSON (expected {"public_key","private_key"} or {"client_id","client_secret"})`,
    );
  });

  it.each([
    ['an array', [apiKey]],
    ['a string', 'just-a-string'],
    ['null', null],
  ])('rejects JSON that is %s', (_label, payload) => {
    const error = payloadError(JSON.stringify(payload));
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toContain('is JSON but not an object');
  });

  it.each([
    ['public_key is missing', { private_key: privateKey }, 'public_key is missing'],
    ['private_key is missing', { public_key: 'abcdefgh' }, 'private_key is missing'],
    ['public_key is too short', { ...apiKey, public_key: 'abc' }, 'public_key must be 8 characters'],
    ['public_key is a number', { ...apiKey, public_key: 12345678 }, 'public_key must be a string'],
    // Eight characters with the space: a length check alone lets it through, and Atlas refuses it.
    [
      'public_key has a trailing space',
      { ...apiKey, public_key: 'abcdefg ' },
      'public_key must not have leading or trailing whitespace',
    ],
    [
      'public_key has a newline',
      { ...apiKey, public_key: 'abcdefgh\n' },
      'public_key must not have leading or trailing whitespace',
    ],
    [
      'client_id has a newline',
      { ...serviceAccount, client_id: `${clientId}\n` },
      'client_id must not have leading or trailing whitespace',
    ],
    ['private_key is empty', { ...apiKey, private_key: '' }, 'private_key must not be empty'],
    [
      'private_key has a newline',
      { ...apiKey, private_key: `${privateKey}\n` },
      'leading or trailing whitespace',
    ],
    ['client_id is missing', { client_secret: clientSecret }, 'client_id is missing'],
    ['client_secret is missing', { client_id: clientId }, 'client_secret is missing'],
    [
      'client_id is malformed',
      { ...serviceAccount, client_id: 'mdb_sa_id_xyz' },
      'client_id must be mdb_sa_id_',
    ],
    [
      'client_secret is an object',
      { ...serviceAccount, client_secret: {} },
      'client_secret must be a string',
    ],
  ])('rejects a payload whose %s', (_label, payload, problem) => {
    const error = payloadError(payload);
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toContain(`secret "${reference}"`);
    expect(error.message).toContain(problem);
    expect(error.message).not.toContain(privateKey);
    expect(error.message).not.toContain(clientSecret);
  });

  it.each([
    ['public_key', { ...apiKey, public_key: 'abcdefgh\n' }, 'must be 8 characters'],
    ['client_id', { ...serviceAccount, client_id: `${clientId}\n` }, 'must be mdb_sa_id_'],
  ])(
    'says only that %s has stray whitespace, not that its length or form is wrong',
    (name, payload, other) => {
      const error = payloadError(payload);
      expect(error.message).toContain(`${name} must not have leading or trailing whitespace`);
      expect(error.message).not.toContain(other);
    },
  );

  it('adds no naming hint where no key looks like a credential field', () => {
    const none = payloadError({ token: 'abcdefgh' });
    expect(none.message).toContain('has none of the credential fields');
    expect(none.message).not.toContain('found');
    const short = payloadError({ ...apiKey, public_key: 'abc' });
    expect(short.message).toContain('public_key must be 8 characters');
    expect(short.message).not.toContain('found');
  });

  it('reports every problem at once', () => {
    const error = payloadError({ public_key: 'abc' });
    expect(error.message).toContain('public_key must be 8 characters');
    expect(error.message).toContain('private_key is missing');
  });

  it('rejects a payload with fields of both shapes as ambiguous', () => {
    const error = payloadError({ ...apiKey, ...serviceAccount });
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toContain('has fields of both an API key');
    expect(error.message).not.toContain(privateKey);
  });

  it('rejects a payload with neither shape, pointing at camelCase field names', () => {
    const error = payloadError({ publicKey: 'abcdefgh', privateKey });
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toContain('has none of the credential fields');
    expect(error.message).toContain(`found "publicKey", "privateKey": ${namingRule}`);
    expect(error.message).not.toContain(privateKey);
  });

  it.each([
    [
      'in camelCase next to a right one',
      { public_key: 'abcdefgh', privateKey },
      'private_key',
      '"privateKey"',
    ],
    [
      'with a trailing space',
      { public_key: 'abcdefgh', 'private_key ': privateKey },
      'private_key',
      '"private_key "',
    ],
    [
      'with a newline',
      { 'client_secret\n': clientSecret, client_id: clientId },
      'client_secret',
      '"client_secret\\n"',
    ],
    ['in capitals', { public_key: 'abcdefgh', PRIVATE_KEY: privateKey }, 'private_key', '"PRIVATE_KEY"'],
  ])('names a field spelt %s as the missing one', (_label, payload, missing, found) => {
    const error = payloadError(payload);
    expect(error.code).toBe('secret_invalid');
    expect(error.message).toContain(`${missing} is missing (found ${found}: ${namingRule})`);
    expect(error.message).not.toContain(privateKey);
    expect(error.message).not.toContain(clientSecret);
  });

  it('names fields spelt with whitespace when no field has its exact name', () => {
    const error = payloadError({ ' public_key': 'abcdefgh', 'private_key\n': privateKey });
    expect(error.message).toContain('has none of the credential fields');
    expect(error.message).toContain(`found " public_key", "private_key\\n": ${namingRule}`);
    expect(error.message).not.toContain(privateKey);
  });

  it('does not echo a field name that holds more than a misspelt credential field name', () => {
    const error = payloadError({ public_key: 'abcdefgh', 'private_key 12345678': 'x' });
    expect(error.message).toContain('private_key is missing');
    expect(error.message).not.toContain('12345678');
  });
});

describe('possibleSecretsIn', () => {
  it('lists every string field except the identifiers', () => {
    const text = JSON.stringify({ ...apiKey, privateKey: 'misspelt-secret-value', count: 3 });
    expect(possibleSecretsIn(text)).toEqual([privateKey, 'misspelt-secret-value']);
  });

  it('lists the fields of a payload that starts with a byte order mark one by one', () => {
    const text = `\uFEFF${JSON.stringify({ public_key: 'abc', private_key: privateKey })}`;
    expect(possibleSecretsIn(text)).toEqual([privateKey]);
  });

  it('treats text that is not a JSON object as one secret', () => {
    expect(possibleSecretsIn(`  ${privateKey}\n`)).toEqual([privateKey]);
  });
});
