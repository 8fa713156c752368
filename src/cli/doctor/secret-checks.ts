import type { AtlasCredentials } from '../../atlas/index.js';
import { isConnectorError, type ConnectorError } from '../../errors/connector-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import { notAwsJsonError } from '../../secrets/aws-sm-errors.js';
import { notKeyVaultJsonError } from '../../secrets/azure-kv-errors.js';
import { createSecretResolver } from '../../secrets/secret-resolver.js';
import type { SecretReference } from '../../secrets/secret-reference.js';
import { describeError, type CheckStep } from './check-runner.js';
import { provided } from './doctor-context.js';

const referenceSyntax =
  'use one of aws-sm://<name or ARN>[?region=…], azure-kv://<vault>/<secret>, env://NAME, file:///absolute/path';

const payloadShape =
  'store the credential as JSON: {"public_key":"<8-character public key>","private_key":"<private key>"} for an API key, or {"client_id":"mdb_sa_id_…","client_secret":"<secret>"} for a service account';

export const secretReferenceCheck: CheckStep = {
  name: 'secret reference',
  needs: [],
  run(ctx) {
    const resolver = createSecretResolver({
      env: ctx.env,
      clock: ctx.clock,
      scrubber: ctx.scrubber,
      ...(ctx.agent ? { agent: ctx.agent } : {}),
      ...(ctx.config ? { ttlMs: ctx.config.secretCacheTtlMs } : {}),
    });
    ctx.resolver = resolver;
    try {
      const reference = resolver.parse(ctx.target.secretRef);
      // Also builds the backend, so a backend that cannot start fails here rather than on the read.
      ctx.credentialSource = resolver.credentialSourceFor(ctx.target.secretRef);
      return Promise.resolve({
        status: 'pass',
        detail: `${reference.reference}: ${describeReference(reference)}`,
      });
    } catch (error) {
      if (!isConnectorError(error)) throw error;
      return Promise.resolve({ status: 'fail', detail: error.message, remedy: referenceSyntax });
    }
  },
};

export const secretCheck: CheckStep = {
  name: 'secret',
  needs: ['secret reference'],
  async run(ctx, signal) {
    const source = provided(ctx.credentialSource, 'the secret reference');
    try {
      const credentials = await source.get(signal);
      ctx.credentials = credentials;
      return { status: 'pass', detail: `read ${describeCredentials(credentials)}` };
    } catch (error) {
      if (!isConnectorError(error) || signal.aborted) throw error;
      const reference = provided(ctx.resolver, 'the secret resolver').parse(ctx.target.secretRef);
      const remedy = secretRemedy(error, reference);
      return { status: 'fail', detail: describeError(error), ...(remedy ? { remedy } : {}) };
    }
  },
};

export function describeCredentials(credentials: AtlasCredentials): string {
  return credentials.type === 'api-key'
    ? `an Atlas API key (public key ${credentials.publicKey})`
    : `an Atlas service account (client id ${credentials.clientId})`;
}

function describeReference(reference: SecretReference): string {
  switch (reference.kind) {
    case 'aws-sm':
      return `AWS Secrets Manager secret ${reference.secretId} in ${reference.region}`;
    case 'azure-kv':
      return `Azure Key Vault ${reference.vaultUrl}, secret ${reference.secretName}`;
    case 'env':
      return `environment variable ${reference.name}`;
    case 'file':
      return `file ${reference.path}`;
  }
}

type RemedyFor = (reference: SecretReference, error: ConnectorError) => string | undefined;

const transient: RemedyFor = () =>
  'usually transient: run doctor again; if it persists, check egress to the secret store (HTTPS_PROXY, NO_PROXY, CA_BUNDLE_FILE for a TLS-intercepting proxy, a VPC / private endpoint)';

/** What to do, by error code and backend; the error's own message already names the secret. */
const secretRemedies: Partial<Record<ErrorCode, RemedyFor>> = {
  secret_not_found: (reference) => {
    switch (reference.kind) {
      case 'env':
        return `set ${reference.name} in the connector's environment (in Kubernetes, an env entry from a Secret); ${payloadShape}`;
      case 'file':
        return `mount the secret at ${reference.path} (in Kubernetes, a Secret volume); ${payloadShape}`;
      case 'aws-sm':
        return `check the name or ARN, the region and any version: aws secretsmanager describe-secret --secret-id ${reference.secretId} --region ${reference.region}`;
      case 'azure-kv':
        return `check the vault and the secret name: az keyvault secret show --id ${reference.vaultUrl}/secrets/${reference.secretName}`;
    }
  },
  secret_invalid: () => payloadShape,
  forbidden: (reference, error) => {
    switch (reference.kind) {
      case 'aws-sm':
        // A 403 whose body is not AWS JSON is not Secrets Manager's (aws-sm-errors.ts, notAwsAnswer).
        return error.details.awsError === notAwsJsonError
          ? "something in the path answered for Secrets Manager (a proxy's or firewall's block page): check HTTPS_PROXY, NO_PROXY and any endpoint override"
          : "grant the connector's IAM role secretsmanager:GetSecretValue on the secret, and kms:Decrypt on its KMS key if it uses a customer-managed key";
      case 'azure-kv':
        return azureForbiddenRemedy(reference, error.details.azureError);
      case 'file':
        return `make ${reference.path} readable by the user the connector runs as (the volume's defaultMode, the pod's fsGroup)`;
      case 'env':
        return undefined;
    }
  },
  auth_failed: (reference) => {
    if (reference.kind === 'aws-sm') {
      return "give the connector AWS credentials: IRSA (eks.amazonaws.com/role-arn on its service account) or EKS Pod Identity, and check the IAM role's trust policy";
    }
    if (reference.kind === 'azure-kv') {
      return 'give the connector an Azure identity: workload identity (azure.workload.identity/client-id on its service account, pod label azure.workload.identity/use: "true") or a managed identity';
    }
    return undefined;
  },
  config_invalid: () => referenceSyntax,
  rate_limited: transient,
  upstream_unavailable: transient,
  timeout: transient,
};

/**
 * Key Vault answers 403 for a disabled secret and for its network rules too, not only for a missing
 * role; and a 403 that is not Key Vault's JSON is not Key Vault's.
 */
function azureForbiddenRemedy(
  reference: SecretReference & { kind: 'azure-kv' },
  azureError: unknown,
): string {
  if (azureError === 'SecretDisabled') {
    const id = `${reference.vaultUrl}/secrets/${reference.secretName}${reference.version ? `/${reference.version}` : ''}`;
    return `enable the secret${reference.version ? ' version the reference names' : ''}: az keyvault secret set-attributes --enabled true --id ${id}, or point the reference at an enabled version`;
  }
  if (azureError === notKeyVaultJsonError) {
    return `something in the path answered for Key Vault (a proxy's or firewall's block page): check HTTPS_PROXY and NO_PROXY, and that the vault URL is ${reference.vaultUrl}`;
  }
  if (azureError === 'ForbiddenByFirewall' || azureError === 'ForbiddenByConnection') {
    return "allow the connector's network in the vault's networking settings: a private endpoint, or a firewall rule for its egress address";
  }
  const vaultName = new URL(reference.vaultUrl).hostname.split('.')[0] ?? reference.vaultUrl;
  const role = `the "Key Vault Secrets User" role on the secret`;
  const policy = `the "get" secret permission (az keyvault set-policy -n ${vaultName} --object-id <principal id> --secret-permissions get)`;
  // The vault's own permission model: a grant under the other one has no effect on it.
  if (azureError === 'ForbiddenByRbac') return `assign the connector's identity ${role}`;
  if (azureError === 'AccessDenied')
    return `give the connector's identity ${policy} in the vault's access policies`;
  return `assign the connector's identity ${role}, or, on a vault that uses access policies, ${policy}`;
}

function secretRemedy(error: ConnectorError, reference: SecretReference): string | undefined {
  return secretRemedies[error.code]?.(reference, error);
}
