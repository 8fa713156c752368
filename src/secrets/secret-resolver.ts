import { credentialSecrets, type AtlasCredentials, type CredentialSource } from '../atlas/credentials.js';
import { ConnectorError, isConnectorError } from '../errors/connector-error.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import { defaultAwsRegion } from './aws-sm-backend.js';
import { parseCredentialsPayload, possibleSecretsIn } from './credentials-payload.js';
import type { SecretBackends, SecretBackendSettings } from './secret-backend.js';
import { createLazySecretBackends, type LazySecretBackends } from './secret-backends.js';
import { parseSecretReference, quoteReference, type SecretReference } from './secret-reference.js';
import { createSingleFlightCache } from './single-flight-cache.js';

export const defaultSecretCacheTtlMs = 300_000;

export interface SecretResolverOptions extends SecretBackendSettings {
  readonly clock: Pick<Clock, 'now' | 'monotonic'>;
  /** Every value read is registered here, so it can never appear in a log line. */
  readonly scrubber: Pick<SecretScrubber, 'add'>;
  readonly logger?: Pick<Logger, 'debug' | 'info'>;
  /** From SECRET_CACHE_TTL_SECONDS; 0 re-reads on every resolution (concurrent ones still share). */
  readonly ttlMs?: number;
  /** Replace registered backends; tests pass a fake. */
  readonly backends?: Partial<SecretBackends>;
  /** Called after every read of the secret store (cache hits are not reads), for metrics. */
  readonly onFetch?: (info: SecretFetchInfo) => void;
}

export interface SecretFetchInfo {
  readonly backend: SecretReference['kind'];
  /** `success`, or the error code of the failed read. */
  readonly outcome: string;
  readonly durationMs: number;
}

export interface SecretResolver {
  /** Parses a reference with this resolver's defaults (AWS region). Throws `config_invalid`. */
  parse(reference: string): SecretReference;
  resolve(reference: string, signal?: AbortSignal): Promise<AtlasCredentials>;
  /** Drops the cached value for `reference`: the next resolution reads the store again. */
  invalidate(reference: string): void;
  /**
   * The secret a reference names, as a key: two spellings of one secret (the vault name and its
   * URL, a bare name and one with the default region) have one key. Throws `config_invalid`.
   */
  secretKey(reference: string): string;
  /** The port the Atlas client uses; `invalidate()` is its answer to an Atlas 401. */
  credentialSourceFor(reference: string): CredentialSource;
  /** Drops cached values and releases the backends' connections. */
  close(): void;
}

/**
 * Resolves secret references to Atlas credentials: the right backend for the scheme, a short
 * TTL cache with single-flight in front of it, and every secret value handed to the scrubber.
 */
export function createSecretResolver(options: SecretResolverOptions): SecretResolver {
  const backends = createLazySecretBackends(options, options.backends);
  const cache = createSingleFlightCache<AtlasCredentials>({
    clock: options.clock,
    ttlMs: options.ttlMs ?? defaultSecretCacheTtlMs,
  });
  const parse = (text: string): SecretReference =>
    parseSecretReference(text, { defaultAwsRegion: defaultAwsRegion(options) });

  const sourceFor = (reference: SecretReference): CredentialSource => {
    const key = secretKey(reference);
    return {
      get: (signal) =>
        cache.get(key, (loadSignal) => loadCredentials(options, backends, reference, loadSignal), signal),
      invalidate: () => {
        cache.invalidate(key);
        options.logger?.info(
          { secretRef: reference.reference, backend: reference.kind },
          'dropped the cached Atlas credential; the next use reads the secret store again',
        );
      },
    };
  };

  return {
    parse,
    resolve: (reference, signal) => sourceFor(parse(reference)).get(signal),
    invalidate: (reference) => sourceFor(parse(reference)).invalidate(),
    secretKey: (reference) => secretKey(parse(reference)),
    credentialSourceFor: (text) => {
      const reference = parse(text);
      // Built now so a misconfigured backend fails at startup rather than on the first job.
      backends.get(reference.kind);
      return sourceFor(reference);
    },
    close: () => {
      cache.clear();
      backends.close();
    },
  };
}

async function loadCredentials(
  options: Pick<SecretResolverOptions, 'scrubber' | 'logger' | 'onFetch' | 'clock'>,
  backends: LazySecretBackends,
  reference: SecretReference,
  signal: AbortSignal,
): Promise<AtlasCredentials> {
  const started = options.clock.monotonic();
  const report = (outcome: string) =>
    options.onFetch?.({ backend: reference.kind, outcome, durationMs: options.clock.monotonic() - started });
  const failed = (error: unknown): never => {
    report(isConnectorError(error) ? error.code : 'internal');
    throw error;
  };
  const text = await readSecret(backends, reference, signal).catch(failed);
  // Registered before validation: a payload that fails it may still hold a real key.
  for (const value of possibleSecretsIn(text)) options.scrubber.add(value);
  // A secret read but unusable (secret_invalid) is a failed fetch too: the store's alert names it.
  let credentials: AtlasCredentials;
  try {
    credentials = parseCredentialsPayload(text, reference.reference);
  } catch (error) {
    return failed(error);
  }
  report('success');
  for (const value of credentialSecrets(credentials)) options.scrubber.add(value);
  options.logger?.debug(
    { secretRef: reference.reference, backend: reference.kind, credentialType: credentials.type },
    'read the Atlas credential from the secret store',
  );
  return credentials;
}

async function readSecret(
  backends: LazySecretBackends,
  reference: SecretReference,
  signal: AbortSignal,
): Promise<string> {
  try {
    return await backends.get(reference.kind).read(reference, signal);
  } catch (error) {
    if (isConnectorError(error)) throw error;
    // Backends map their own failures; whatever escapes is a bug, reported without its text.
    throw new ConnectorError({
      code: 'internal',
      message: `secret ${quoteReference(reference.reference)}: unexpected failure in the ${reference.kind} backend`,
      details: { secretRef: reference.reference, backend: reference.kind },
    });
  }
}

/** Two spellings of one secret (vault name or URL, say) share a cache entry, and an Atlas client. */
function secretKey(reference: SecretReference): string {
  const { reference: _text, ...identity } = reference;
  return JSON.stringify(identity);
}
