import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { ConnectorError } from '../errors/connector-error.js';
import { azureKvError } from './azure-kv-errors.js';
import type { SecretBackendFactory } from './secret-backend.js';
import { quoteReference } from './secret-reference.js';

export interface AzureKvSettings {
  /** Absent means DefaultAzureCredential: workload identity, managed identity, environment. */
  readonly credential?: TokenCredential;
  /** Merged over the connector's defaults for every SecretClient (retry policy, API version). */
  readonly clientOptions?: SecretClientOptions;
}

// A couple of quick retries inside the SDK; longer waits belong to the caller's retry loop.
const defaultClientOptions: SecretClientOptions = {
  retryOptions: { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 4_000 },
};

/**
 * Azure Key Vault through the official SDK. The SDK performs Key Vault's challenge flow: an
 * unauthenticated request, a 401 naming the tenant and resource, then a token for exactly that.
 * One SecretClient per vault, created on first use; one credential shared by all of them.
 */
export const createAzureKvBackend: SecretBackendFactory<'azure-kv'> = (settings) => {
  let credential = settings.azure?.credential;
  const clients = new Map<string, SecretClient>();
  const clientFor = (vaultUrl: string): SecretClient => {
    let client = clients.get(vaultUrl);
    if (!client) {
      credential ??= new DefaultAzureCredential();
      client = new SecretClient(vaultUrl, credential, {
        ...defaultClientOptions,
        ...settings.azure?.clientOptions,
      });
      clients.set(vaultUrl, client);
    }
    return client;
  };

  return {
    async read(reference, signal) {
      let value: string | undefined;
      try {
        const secret = await clientFor(reference.vaultUrl).getSecret(reference.secretName, {
          version: reference.version,
          abortSignal: signal,
        });
        value = secret.value;
      } catch (error) {
        throw azureKvError(error, reference, settings.clock, signal);
      }
      if (value === undefined || value === '') {
        throw new ConnectorError({
          code: 'secret_invalid',
          message: `secret ${quoteReference(reference.reference)} has no value`,
          details: { secretRef: reference.reference, backend: 'azure-kv' },
        });
      }
      return value;
    },
    close() {
      clients.clear();
    },
  };
};
