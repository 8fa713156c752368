import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConnectorError } from '../errors/connector-error.js';

// Two letters for most partitions (us-east-1, us-iso-east-1), four for the European Sovereign Cloud (eusc-de-east-1).
const awsRegion = z.string().regex(/^[a-z]{2,4}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1');
const awsSecretName = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
// arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>
const awsSecretArn = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

const AwsSmReferenceSchema = z.object({
  kind: z.literal('aws-sm'),
  reference: z.string(),
  secretId: z
    .string()
    .refine((id) => awsSecretArn.test(id) || (!id.startsWith('arn:') && awsSecretName.test(id)), {
      error: (issue) =>
        String(issue.input).startsWith('arn:')
          ? 'is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)'
          : 'must be a secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -) or a full secret ARN',
    }),
  region: awsRegion,
  versionStage: z
    .string()
    .regex(/^[A-Za-z0-9_+=.@-]{1,256}$/, 'must be a staging label such as AWSCURRENT')
    .optional(),
  versionId: z
    .string()
    .regex(/^[A-Za-z0-9-]{32,64}$/, 'must be a version id (32-64 letters, digits or dashes)')
    .optional(),
});

const AzureKvReferenceSchema = z.object({
  kind: z.literal('azure-kv'),
  reference: z.string(),
  vaultUrl: z.url({ protocol: /^https$/, error: 'must be an https:// vault URL' }),
  secretName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be 1-127 letters, digits or dashes'),
  version: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'must be a Key Vault secret version (32 hex characters)')
    .optional(),
});

const EnvReferenceSchema = z.object({
  kind: z.literal('env'),
  reference: z.string(),
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
});

const FileReferenceSchema = z.object({
  kind: z.literal('file'),
  reference: z.string(),
  path: z.string().startsWith('/', 'must be an absolute path (file:///absolute/path)'),
});

/** A parsed secret reference. `reference` is the text as configured, for messages and logs. */
export const SecretReferenceSchema = z.discriminatedUnion('kind', [
  AwsSmReferenceSchema,
  AzureKvReferenceSchema,
  EnvReferenceSchema,
  FileReferenceSchema,
]);

export type SecretReference = z.infer<typeof SecretReferenceSchema>;
export type SecretBackendKind = SecretReference['kind'];
export type SecretReferenceOf<K extends SecretBackendKind> = Extract<SecretReference, { kind: K }>;
export type AwsSmReference = SecretReferenceOf<'aws-sm'>;
export type AzureKvReference = SecretReferenceOf<'azure-kv'>;
export type EnvReference = SecretReferenceOf<'env'>;
export type FileReference = SecretReferenceOf<'file'>;

export interface ParseReferenceOptions {
  /** Used when the reference is neither an ARN nor has `?region=` (AWS_REGION, from the composition root). */
  readonly defaultAwsRegion?: string;
}

interface ReferenceParts {
  readonly reference: string;
  readonly body: string;
  readonly query: Readonly<Record<string, string>>;
}

type Candidate = { readonly [key: string]: string | undefined };
type Decompose = (parts: ReferenceParts, options: ParseReferenceOptions) => Candidate;

const decomposers = {
  'aws-sm': decomposeAwsSm,
  'azure-kv': decomposeAzureKv,
  env: (parts) => {
    onlyParams(parts, []);
    return { name: parts.body };
  },
  file: decomposeFile,
} satisfies Record<SecretBackendKind, Decompose>;

export const secretBackendKinds = Object.keys(decomposers) as SecretBackendKind[];
const supportedSchemes = secretBackendKinds.map((kind) => `${kind}://`).join(', ');

/**
 * Parses a secret reference such as `aws-sm://prod/atlas?region=eu-west-1`. Every error is a
 * `config_invalid` that names the reference and what is wrong with it, never a secret value.
 */
export function parseSecretReference(text: string, options: ParseReferenceOptions = {}): SecretReference {
  const reference = text.trim();
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(reference);
  if (!match) {
    // Without a scheme the text may be a pasted secret value, so it is not echoed.
    throw referenceError(
      `a secret reference (${reference.length} characters, not shown) has no scheme: use one of ${supportedSchemes}`,
    );
  }
  const scheme = (match[1] ?? '').toLowerCase();
  if (!isBackendKind(scheme)) {
    // Only the scheme is echoed: the rest could be a connection string with credentials.
    throw referenceError(
      `secret reference scheme "${scheme}://" is not supported: use one of ${supportedSchemes}`,
    );
  }
  const parts = splitParts(reference, match[2] ?? '');
  const candidate = { ...decomposers[scheme](parts, options), kind: scheme, reference };
  const parsed = SecretReferenceSchema.safeParse(candidate);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'reference'} ${issue.message}`,
    );
    throw invalidReference(reference, problems.join('; '));
  }
  return parsed.data;
}

/** The reference as quoted in messages: configured text, bounded in length. */
export function quoteReference(reference: string): string {
  return JSON.stringify(reference.length > 200 ? `${reference.slice(0, 200)}…` : reference);
}

function isBackendKind(value: string): value is SecretBackendKind {
  return Object.hasOwn(decomposers, value);
}

function splitParts(reference: string, rest: string): ReferenceParts {
  const mark = rest.indexOf('?');
  const body = mark === -1 ? rest : rest.slice(0, mark);
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(mark === -1 ? '' : rest.slice(mark + 1))) {
    if (Object.hasOwn(query, key)) throw invalidReference(reference, `query parameter "${key}" is repeated`);
    query[key] = value;
  }
  return { reference, body, query };
}

/** Rejects query parameters the backend does not know, so a typo such as `?regoin=` is not ignored. */
function onlyParams(parts: ReferenceParts, allowed: readonly string[]): Candidate {
  const unknown = Object.keys(parts.query).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    const accepted = allowed.length > 0 ? `accepted: ${allowed.join(', ')}` : 'this scheme takes none';
    throw invalidReference(parts.reference, `unknown query parameter ${unknown.join(', ')} (${accepted})`);
  }
  return parts.query;
}

function decomposeAwsSm(parts: ReferenceParts, options: ParseReferenceOptions): Candidate {
  const query = onlyParams(parts, ['region', 'versionStage', 'versionId']);
  const arnRegion = awsSecretArn.exec(parts.body)?.[1];
  if (arnRegion && query.region && query.region !== arnRegion) {
    throw invalidReference(
      parts.reference,
      `?region=${query.region} contradicts the ARN's region ${arnRegion}`,
    );
  }
  const region = arnRegion ?? query.region ?? options.defaultAwsRegion;
  if (!region) {
    throw invalidReference(
      parts.reference,
      'has no AWS region: use a full ARN, add ?region=…, or set AWS_REGION',
    );
  }
  return { ...query, secretId: parts.body, region };
}

const secretIdentifierPath = /^\/secrets\/([^/]+)(?:\/([^/]+))?\/?$/;

function decomposeAzureKv(parts: ReferenceParts): Candidate {
  const { version } = onlyParams(parts, ['version']);
  if (!parts.body.startsWith('https://') && !parts.body.startsWith('http://')) {
    const [vault = '', ...rest] = parts.body.split('/');
    if (!/^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(vault)) {
      throw invalidReference(
        parts.reference,
        'vault must be a vault name (3-24 letters, digits, dashes) or URL',
      );
    }
    return {
      vaultUrl: `https://${vault.toLowerCase()}.vault.azure.net`,
      secretName: rest.join('/'),
      version,
    };
  }
  const url = parseUrl(parts.body);
  if (!url || url.username || url.password || url.hash) {
    throw invalidReference(parts.reference, 'vault URL must be https://<vault host>/<secret name>');
  }
  // The portal's "Secret Identifier" (https://<vault>/secrets/<name>[/<version>]) is accepted as is.
  const identifier = secretIdentifierPath.exec(url.pathname);
  const pathVersion = identifier?.[2];
  if (pathVersion && version && pathVersion !== version) {
    throw invalidReference(parts.reference, `?version= contradicts the version in the secret identifier`);
  }
  const secretName = identifier ? identifier[1] : url.pathname.replace(/^\//, '');
  return { vaultUrl: `${url.protocol}//${url.host}`, secretName, version: version ?? pathVersion };
}

function decomposeFile(parts: ReferenceParts): Candidate {
  onlyParams(parts, []);
  if (!parts.body.startsWith('/')) {
    throw invalidReference(parts.reference, 'must name an absolute path: file:///absolute/path');
  }
  const url = parseUrl(`file://${parts.body}`);
  if (!url || url.hash) throw invalidReference(parts.reference, 'is not a valid file URL');
  try {
    return { path: fileURLToPath(url) };
  } catch {
    throw invalidReference(
      parts.reference,
      'is not a valid file URL (encoded "/" or a host are not allowed)',
    );
  }
}

// URL.parse arrived in Node 22; the connector supports Node 20.
function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function invalidReference(reference: string, problem: string): ConnectorError {
  return referenceError(`secret reference ${quoteReference(reference)} is invalid: ${problem}`);
}

function referenceError(message: string): ConnectorError {
  return new ConnectorError({ code: 'config_invalid', message });
}
