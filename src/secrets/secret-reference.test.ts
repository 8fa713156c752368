import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../errors/connector-error.js';
import { parseSecretReference, type ParseReferenceOptions } from './secret-reference.js';

const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/atlas-AbCdEf';

function parseError(text: string, options: ParseReferenceOptions = {}): ConnectorError {
  try {
    parseSecretReference(text, options);
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error(`expected ${text} to be rejected`);
}

describe('parseSecretReference: aws-sm', () => {
  it('reads a secret name with its region from the query', () => {
    expect(parseSecretReference('aws-sm://prod/atlas?region=us-east-1')).toEqual({
      kind: 'aws-sm',
      reference: 'aws-sm://prod/atlas?region=us-east-1',
      secretId: 'prod/atlas',
      region: 'us-east-1',
    });
  });

  it('takes the region from a full ARN, colons and slashes included', () => {
    const parsed = parseSecretReference(`aws-sm://${arn}`, { defaultAwsRegion: 'us-east-1' });
    expect(parsed).toMatchObject({ kind: 'aws-sm', secretId: arn, region: 'eu-west-1' });
  });

  it('takes the regions of the other partitions, the European Sovereign Cloud included', () => {
    const sovereign = 'arn:aws-eusc:secretsmanager:eusc-de-east-1:111122223333:secret:prod/atlas-AbCdEf';
    expect(parseSecretReference(`aws-sm://${sovereign}`)).toMatchObject({ region: 'eusc-de-east-1' });
    for (const region of ['cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1']) {
      expect(parseSecretReference(`aws-sm://prod/atlas?region=${region}`)).toMatchObject({ region });
    }
    expect(() => parseSecretReference('aws-sm://prod/atlas?region=europe-1')).toThrow(/region/);
  });

  it('falls back to the default region for a bare name', () => {
    expect(parseSecretReference('aws-sm://atlas', { defaultAwsRegion: 'ap-south-1' })).toMatchObject({
      region: 'ap-south-1',
    });
  });

  it('prefers ?region= over the default region', () => {
    const parsed = parseSecretReference('aws-sm://atlas?region=eu-central-1', {
      defaultAwsRegion: 'us-east-1',
    });
    expect(parsed).toMatchObject({ region: 'eu-central-1' });
  });

  it('keeps versionStage and versionId', () => {
    const versionId = 'EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE';
    const parsed = parseSecretReference(
      `aws-sm://atlas?region=us-east-1&versionStage=AWSPREVIOUS&versionId=${versionId}`,
    );
    expect(parsed).toMatchObject({ versionStage: 'AWSPREVIOUS', versionId });
  });

  it('accepts an ARN region that agrees with ?region=', () => {
    expect(parseSecretReference(`aws-sm://${arn}?region=eu-west-1`)).toMatchObject({ region: 'eu-west-1' });
  });

  it.each([
    ['aws-sm://atlas', 'has no AWS region'],
    [`aws-sm://${arn}?region=us-east-1`, "contradicts the ARN's region eu-west-1"],
    ['aws-sm://arn:aws:s3:::bucket/key?region=us-east-1', 'is not a Secrets Manager secret ARN'],
    ['aws-sm://?region=us-east-1', 'secretId must be a secret name'],
    ['aws-sm://bad name?region=us-east-1', 'secretId must be a secret name'],
    ['aws-sm://atlas?region=Mars', 'region must be an AWS region'],
    ['aws-sm://atlas?region=us-east-1&regoin=x', 'unknown query parameter regoin'],
    ['aws-sm://atlas?region=us-east-1&region=us-east-2', 'query parameter "region" is repeated'],
    ['aws-sm://atlas?region=us-east-1&versionId=short', 'versionId must be a version id'],
    ['aws-sm://atlas?region=us-east-1&versionStage=', 'versionStage must be a staging label'],
  ])('rejects %s: %s', (text, problem) => {
    const error = parseError(text);
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(JSON.stringify(text));
    expect(error.message).toContain(problem);
  });
});

describe('parseSecretReference: azure-kv', () => {
  it('turns a vault name into its public-cloud URL', () => {
    expect(parseSecretReference('azure-kv://MyVault/atlas-api-key')).toEqual({
      kind: 'azure-kv',
      reference: 'azure-kv://MyVault/atlas-api-key',
      vaultUrl: 'https://myvault.vault.azure.net',
      secretName: 'atlas-api-key',
    });
  });

  it('keeps a sovereign-cloud vault URL as given', () => {
    expect(parseSecretReference('azure-kv://https://myvault.vault.azure.cn/atlas')).toMatchObject({
      vaultUrl: 'https://myvault.vault.azure.cn',
      secretName: 'atlas',
    });
  });

  it('accepts ?version=', () => {
    const version = '0123456789abcdef0123456789abcdef';
    expect(parseSecretReference(`azure-kv://myvault/atlas?version=${version}`)).toMatchObject({ version });
  });

  it("accepts the portal's secret identifier, version included", () => {
    const version = 'fedcba9876543210fedcba9876543210';
    const parsed = parseSecretReference(
      `azure-kv://https://myvault.vault.azure.net/secrets/atlas/${version}`,
    );
    expect(parsed).toMatchObject({
      vaultUrl: 'https://myvault.vault.azure.net',
      secretName: 'atlas',
      version,
    });
  });

  it.each([
    ['azure-kv://myvault', 'secretName must be 1-127 letters, digits or dashes'],
    ['azure-kv://myvault/a/b', 'secretName must be 1-127 letters, digits or dashes'],
    ['azure-kv://my_vault/atlas', 'vault must be a vault name'],
    ['azure-kv://x/atlas', 'vault must be a vault name'],
    ['azure-kv://http://myvault.vault.azure.net/atlas', 'vaultUrl must be an https:// vault URL'],
    ['azure-kv://https://user:pw@myvault.vault.azure.net/atlas', 'vault URL must be https://'],
    ['azure-kv://https://[bad/atlas', 'vault URL must be https://'],
    ['azure-kv://myvault/atlas?version=latest', 'version must be a Key Vault secret version'],
    ['azure-kv://myvault/atlas?versoin=1', 'unknown query parameter versoin (accepted: version)'],
    [
      'azure-kv://https://myvault.vault.azure.net/secrets/atlas/0123456789abcdef0123456789abcdef?version=fedcba9876543210fedcba9876543210',
      '?version= contradicts the version in the secret identifier',
    ],
  ])('rejects %s: %s', (text, problem) => {
    const error = parseError(text);
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(JSON.stringify(text));
    expect(error.message).toContain(problem);
  });
});

describe('parseSecretReference: env and file', () => {
  it('reads an environment variable name', () => {
    expect(parseSecretReference('env://ATLAS_CREDENTIALS')).toEqual({
      kind: 'env',
      reference: 'env://ATLAS_CREDENTIALS',
      name: 'ATLAS_CREDENTIALS',
    });
  });

  it('reads an absolute file path, decoding percent escapes', () => {
    expect(parseSecretReference('file:///var/run/secrets/atlas/my%20credentials.json')).toEqual({
      kind: 'file',
      reference: 'file:///var/run/secrets/atlas/my%20credentials.json',
      path: '/var/run/secrets/atlas/my credentials.json',
    });
  });

  it('ignores surrounding whitespace, as left by YAML block scalars', () => {
    expect(parseSecretReference('  env://ATLAS\n')).toMatchObject({
      name: 'ATLAS',
      reference: 'env://ATLAS',
    });
  });

  it.each([
    ['env://1ATLAS', 'name must be an environment variable name'],
    ['env://', 'name must be an environment variable name'],
    ['env://ATLAS?x=1', 'unknown query parameter x (this scheme takes none)'],
    ['file://relative/path', 'must name an absolute path: file:///absolute/path'],
    ['file:///etc/atlas?mode=1', 'unknown query parameter mode'],
    ['file:///etc/a%2Fb', 'encoded "/"'],
  ])('rejects %s: %s', (text, problem) => {
    const error = parseError(text);
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(JSON.stringify(text));
    expect(error.message).toContain(problem);
  });
});

describe('parseSecretReference: schemes', () => {
  it('lists the supported schemes for an unknown one', () => {
    const error = parseError('vault://secret/data/atlas');
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe(
      'secret reference scheme "vault://" is not supported: use one of aws-sm://, azure-kv://, env://, file://',
    );
  });

  it('does not echo the rest of an unsupported reference, which may hold credentials', () => {
    const error = parseError('mongodb+srv://admin:hunter2-password@cluster0.example.net');
    expect(error.message).toContain('"mongodb+srv://" is not supported');
    expect(error.message).not.toContain('hunter2-password');
  });

  it('does not echo text without a scheme, which may be a pasted secret value', () => {
    const pasted = '{"public_key":"abcdefgh","private_key":"0f9e8d7c-private-value"}';
    const error = parseError(pasted);
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('has no scheme: use one of aws-sm://, azure-kv://, env://, file://');
    expect(error.message).not.toContain('0f9e8d7c-private-value');
  });

  it('accepts a scheme in capitals', () => {
    expect(parseSecretReference('ENV://ATLAS')).toMatchObject({ kind: 'env', name: 'ATLAS' });
  });
});
