import type * as AzureIdentity from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import type * as AzureKeyVault from '@azure/keyvault-secrets';
import type { SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';
import { ConnectorError } from '../errors/connector-error.js';
import { parseRetryAfter } from '../errors/from-http-status.js';
import { abortable } from '../runtime/abortable.js';
import type { Clock } from '../runtime/clock.js';
import { deadlineSignal } from '../runtime/deadline-signal.js';
import {
  azureKvError,
  notJsonAnswerErrorName,
  notKeyVaultJsonError,
  tokenTimeoutErrorName,
} from './azure-kv-errors.js';
import type { SecretBackendFactory } from './secret-backend.js';
import { quoteReference } from './secret-reference.js';

export interface AzureKvSettings {
  /** Absent means DefaultAzureCredential: workload identity, managed identity, environment. */
  readonly credential?: TokenCredential;
  /** Merged over the connector's defaults for every SecretClient (retry policy, API version). */
  readonly clientOptions?: SecretClientOptions;
  /** Each Key Vault request's timeout (default 15 s), retries aside. */
  readonly requestTimeoutMs?: number;
  /** Each token request's timeout (default 30 s): Microsoft Entra ID, or whatever `credential` asks. */
  readonly tokenTimeoutMs?: number;
}

// A couple of quick retries inside the SDK; longer waits belong to the caller's retry loop.
const sdkMaxRetryDelayMs = 4_000;
const defaultClientOptions: SecretClientOptions = {
  retryOptions: { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: sdkMaxRetryDelayMs },
};

type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

/** The name of the error a 429 or 503 asking for a longer wait than the SDK's own rejects with. */
const longRetryAfterErrorName = 'KeyVaultRetryAfterError';

/**
 * Ends an attempt answered 429 or 503 whose Retry-After is longer than the SDK's own longest
 * backoff. The SDK's retry policy honours any Retry-After, unbounded by `maxRetryDelayInMs`, twice:
 * a read would sleep inside the SDK, uncancelled (the Atlas client's read has no signal of its
 * own), while every job of the credential waited on it. The error is not a RestError, so the retry
 * policy passes it straight on; `azureKvError` reads its status and Retry-After as Key Vault's own.
 */
function longRetryAfterPolicy(clock: Pick<Clock, 'now'>): PipelinePolicy {
  return {
    name: 'connectorLongRetryAfter',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      const retryAfter = response.headers.get('retry-after');
      const waitMs = retryAfter === undefined ? undefined : parseRetryAfter(retryAfter, clock.now());
      if (waitMs === undefined || waitMs <= sdkMaxRetryDelayMs) return response;
      throw Object.assign(
        new Error(`Key Vault answered HTTP ${response.status} with Retry-After ${waitMs} ms`),
        {
          name: longRetryAfterErrorName,
          statusCode: response.status,
          response: { headers: response.headers },
        },
      );
    },
  };
}

/**
 * Ends a read whose last answer (after the SDK's retries and Key Vault's challenge) has a body that
 * is not a JSON object: an empty 502 from a gateway, a proxy's empty 403, an HTML page sent as 200.
 * The SDK reads such an error answer's `error` off `undefined`, and a 200's secret id off a string,
 * and throws a bare TypeError that keeps no status: a retryable 5xx became `internal`, not retried.
 * This error keeps the status and headers, which `azureKvError` reads as Key Vault's own.
 */
const notJsonAnswerPolicy: PipelinePolicy = {
  name: 'connectorNotJsonAnswer',
  async sendRequest(request, next) {
    const response = await next(request);
    if (isJsonObject(response.bodyAsText)) return response;
    throw Object.assign(
      new Error(`Key Vault answered HTTP ${response.status} with a body that is not a JSON object`),
      {
        name: notJsonAnswerErrorName,
        // `details.azureError`, as for an answer the SDK itself found not to be Key Vault JSON.
        code: notKeyVaultJsonError,
        statusCode: response.status,
        response: { headers: response.headers },
      },
    );
  },
};

function isJsonObject(text: string | null | undefined): boolean {
  try {
    const value: unknown = JSON.parse(text ?? '');
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * The SDKs are loaded on first use: together they cost ~15 MB, and an AWS-only install never needs
 * them. The module loader caches them, so later calls cost nothing and no module state is needed.
 */
const loadAzureSdks = (): Promise<[typeof AzureKeyVault, typeof AzureIdentity]> =>
  Promise.all([import('@azure/keyvault-secrets'), import('@azure/identity')]);

/**
 * Azure Key Vault through the official SDK. The SDK performs Key Vault's challenge flow: an
 * unauthenticated request, a 401 naming the tenant and resource, then a token for exactly that.
 * One SecretClient per vault, created on first use; one credential shared by all of them.
 */
export const createAzureKvBackend: SecretBackendFactory<'azure-kv'> = (settings) => {
  let credential: TokenCredential | undefined;
  // Once the identity has issued a token, its unavailability is an outage, not a setup problem.
  let identityIssuedToken = false;
  // The promise is stored before its first await: two first reads of one vault share one client.
  const clients = new Map<string, Promise<SecretClient>>();
  const createClient = async (vaultUrl: string): Promise<SecretClient> => {
    const [{ SecretClient }, { DefaultAzureCredential }] = await loadAzureSdks();
    // The agent carries proxy and CA bundle to Key Vault and to Entra ID's token endpoint alike.
    const agent = settings.agent ? { agent: settings.agent } : {};
    credential ??= withTokenDeadline(
      settings.azure?.credential ?? new DefaultAzureCredential(agent),
      settings.azure?.tokenTimeoutMs ?? 30_000,
      () => (identityIssuedToken = true),
    );
    const clientOptions = settings.azure?.clientOptions;
    return new SecretClient(vaultUrl, credential, {
      ...defaultClientOptions,
      ...agent,
      ...clientOptions,
      additionalPolicies: [
        ...(clientOptions?.additionalPolicies ?? []),
        { policy: longRetryAfterPolicy(settings.clock), position: 'perRetry' },
        // Outside the retry and challenge policies: it sees only the answer the read ends with.
        { policy: notJsonAnswerPolicy, position: 'perCall' },
      ],
    });
  };
  const clientFor = (vaultUrl: string): Promise<SecretClient> => {
    let client = clients.get(vaultUrl);
    if (!client) {
      const created = createClient(vaultUrl);
      client = created;
      clients.set(vaultUrl, created);
      // A failed load (the SDK not installed) is not kept: the next read tries again.
      created.catch(() => clients.get(vaultUrl) === created && clients.delete(vaultUrl));
    }
    return client;
  };

  return {
    async read(reference, signal) {
      let value: string | undefined;
      try {
        const client = await clientFor(reference.vaultUrl);
        const secret = await client.getSecret(reference.secretName, {
          version: reference.version,
          abortSignal: signal,
          // Per attempt; the pipeline's default is none, and a vault that accepts the connection
          // and never answers would hold the read, and every job waiting on it, for good.
          requestOptions: { timeout: settings.azure?.requestTimeoutMs ?? 15_000 },
        });
        value = secret.value;
      } catch (error) {
        throw azureKvError(error, reference, { clock: settings.clock, signal, identityIssuedToken });
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

/**
 * The credential with a deadline on each token, reporting each token issued. The identity SDK's
 * token request has no timeout, and MSAL's client-assertion flow (workload identity) ignores the
 * abort signal, so an Entra ID endpoint (or proxy) that accepts the connection and never answers
 * would hold the read, and every job waiting on it, for good: the Key Vault request's own timeout
 * starts only once it has a token.
 */
function withTokenDeadline(
  credential: TokenCredential,
  timeoutMs: number,
  onIssued: () => void,
): TokenCredential {
  return {
    async getToken(scopes, options) {
      const deadline = deadlineSignal(timeoutMs, undefined);
      try {
        const token = await abortable(credential.getToken(scopes, options), deadline.signal, () =>
          Object.assign(new Error(`no token within ${timeoutMs} ms`), { name: tokenTimeoutErrorName }),
        );
        if (token) onIssued();
        return token;
      } finally {
        deadline.release();
      }
    },
  };
}
