import type * as AwsSdk from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConnectorError } from '../errors/connector-error.js';
import { awsSmError } from './aws-sm-errors.js';
import type { SecretBackendFactory, SecretBackendSettings } from './secret-backend.js';
import { quoteReference, type AwsSmReference } from './secret-reference.js';

export interface AwsSmSettings {
  /** For references that are neither an ARN nor carry `?region=`; defaults to AWS_REGION, then AWS_DEFAULT_REGION. */
  readonly region?: string;
  /** VPC endpoint or emulator; defaults to AWS_ENDPOINT_URL_SECRETS_MANAGER, then AWS_ENDPOINT_URL. */
  readonly endpoint?: string;
  /** Absent means the SDK's default chain: IRSA web identity, Pod Identity, env, instance profile. */
  readonly credentials?: SecretsManagerClientConfig['credentials'];
  /** SDK attempts per read, the first included. */
  readonly maxAttempts?: number;
  readonly requestTimeoutMs?: number;
}

export function defaultAwsRegion(settings: Pick<SecretBackendSettings, 'env' | 'aws'>): string | undefined {
  return (
    nonEmpty(settings.aws?.region) ??
    nonEmpty(settings.env.AWS_REGION) ??
    nonEmpty(settings.env.AWS_DEFAULT_REGION)
  );
}

const EndpointSchema = z.url({ protocol: /^https?$/ }).optional();

function awsEndpoint(settings: SecretBackendSettings): string | undefined {
  // The first source set wins; a bad value is reported under the name it came from.
  const [name, endpoint] = (
    [
      ['the Secrets Manager endpoint setting', nonEmpty(settings.aws?.endpoint)],
      ['AWS_ENDPOINT_URL_SECRETS_MANAGER', nonEmpty(settings.env.AWS_ENDPOINT_URL_SECRETS_MANAGER)],
      ['AWS_ENDPOINT_URL', nonEmpty(settings.env.AWS_ENDPOINT_URL)],
    ] as const
  ).find(([, value]) => value !== undefined) ?? [undefined, undefined];
  if (!EndpointSchema.safeParse(endpoint).success) {
    throw new ConnectorError({
      code: 'config_invalid',
      message: `${name ?? 'AWS_ENDPOINT_URL_SECRETS_MANAGER'}: must be an absolute http(s) URL, such as https://secretsmanager.eu-west-1.amazonaws.com`,
    });
  }
  return endpoint;
}

// The SDK has already decoded the body; this pins down the two fields the connector relies on.
const OutputSchema = z.object({
  SecretString: z.string().optional(),
  SecretBinary: z.instanceof(Uint8Array).optional(),
});

/**
 * AWS Secrets Manager through the official SDK. One client per region, created on first use and
 * kept, so connections and the credential chain's cached session are reused between reads.
 */
/**
 * The SDK is loaded on first use: it costs ~15 MB of memory, and an Azure-only install never needs
 * it. The module loader caches it, so later calls cost nothing and no module state is needed.
 */
const loadAwsSdk = (): Promise<typeof AwsSdk> => import('@aws-sdk/client-secrets-manager');

/**
 * The handler every request of the client goes through, the credential chain's STS call
 * included: the SDK hands the parent client's request handler to the STS client it builds for
 * IRSA web identity. With an outbound agent, that is proxy and CA bundle for both.
 */
async function requestHandler(settings: SecretBackendSettings) {
  // Without throwOnRequestTimeout the handler only logs (to console) when requestTimeout passes,
  // and a stalled TLS handshake or answer then holds the read, and every job waiting on it, for good.
  const timeouts = {
    connectionTimeout: 5_000,
    requestTimeout: settings.aws?.requestTimeoutMs ?? 15_000,
    throwOnRequestTimeout: true,
  };
  if (!settings.agent) return timeouts;
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  return new NodeHttpHandler({ ...timeouts, httpAgent: settings.agent, httpsAgent: settings.agent });
}

export const createAwsSmBackend: SecretBackendFactory<'aws-sm'> = (settings) => {
  const endpoint = awsEndpoint(settings);
  // Once a read has succeeded, the credential chain's failure is an outage, not a setup problem.
  let credentialsIssued = false;
  // The promise is stored before its first await: two first reads in one region share one client.
  const clients = new Map<string, Promise<SecretsManagerClient>>();
  const createClient = async (region: string): Promise<SecretsManagerClient> => {
    const { SecretsManagerClient } = await loadAwsSdk();
    return new SecretsManagerClient({
      region,
      ...(endpoint ? { endpoint } : {}),
      ...(settings.aws?.credentials ? { credentials: settings.aws.credentials } : {}),
      maxAttempts: settings.aws?.maxAttempts ?? 3,
      requestHandler: await requestHandler(settings),
    });
  };
  const clientFor = (region: string): Promise<SecretsManagerClient> => {
    let client = clients.get(region);
    if (!client) {
      client = createClient(region);
      clients.set(region, client);
      // A failed load (the SDK not installed) is not kept: the next read tries again.
      const created = client;
      created.catch(() => clients.get(region) === created && clients.delete(region));
    }
    return client;
  };

  return {
    async read(reference, signal) {
      let output: unknown;
      try {
        const { GetSecretValueCommand } = await loadAwsSdk();
        const command = new GetSecretValueCommand({
          SecretId: reference.secretId,
          VersionStage: reference.versionStage,
          VersionId: reference.versionId,
        });
        const client = await clientFor(reference.region);
        output = await client.send(command, { abortSignal: signal });
        credentialsIssued = true;
      } catch (error) {
        throw awsSmError(error, reference, { signal, credentialsIssued });
      }
      return secretText(output, reference);
    },
    close() {
      for (const client of clients.values()) {
        client.then(
          (c) => c.destroy(),
          () => undefined,
        );
      }
      clients.clear();
    },
  };
};

function secretText(output: unknown, reference: AwsSmReference): string {
  const parsed = OutputSchema.safeParse(output);
  const { SecretString: text, SecretBinary: binary } = parsed.success ? parsed.data : {};
  if (text !== undefined && text.length > 0) return text;
  if (binary !== undefined && binary.length > 0) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(binary);
    } catch {
      throw noText(reference, 'holds a SecretBinary that is not UTF-8 text');
    }
  }
  throw noText(reference, 'has no SecretString or SecretBinary value');
}

function noText(reference: AwsSmReference, problem: string): ConnectorError {
  return new ConnectorError({
    code: 'secret_invalid',
    message: `secret ${quoteReference(reference.reference)} ${problem}`,
    details: { secretRef: reference.reference, backend: 'aws-sm' },
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
