import { createAwsSmBackend } from './aws-sm-backend.js';
import { createAzureKvBackend } from './azure-kv-backend.js';
import { createEnvBackend } from './env-backend.js';
import { createFileBackend } from './file-backend.js';
import type {
  SecretBackend,
  SecretBackendFactory,
  SecretBackends,
  SecretBackendSettings,
} from './secret-backend.js';
import type { SecretBackendKind, SecretReference, SecretReferenceOf } from './secret-reference.js';

export type SecretBackendFactories = { readonly [K in SecretBackendKind]: SecretBackendFactory<K> };

/** Every secret backend, once. A new kind does not compile until it is registered here. */
export const secretBackendFactories = {
  'aws-sm': createAwsSmBackend,
  'azure-kv': createAzureKvBackend,
  env: createEnvBackend,
  file: createFileBackend,
} as const satisfies SecretBackendFactories;

export interface LazySecretBackends {
  /** The backend for `kind`, built on first use and kept for the life of this instance. */
  get<K extends SecretBackendKind>(kind: K): SecretBackend<SecretReferenceOf<K>>;
  close(): void;
}

/**
 * Builds backends on demand, so an AWS-only deployment never loads an Azure credential chain.
 * `overrides` replace registered factories (tests use a fake backend).
 */
export function createLazySecretBackends(
  settings: SecretBackendSettings,
  overrides: Partial<SecretBackends> = {},
  factories: SecretBackendFactories = secretBackendFactories,
): LazySecretBackends {
  const built = new Map<SecretBackendKind, SecretBackend<SecretReference>>();
  return {
    get<K extends SecretBackendKind>(kind: K): SecretBackend<SecretReferenceOf<K>> {
      // Entries are only ever stored under their own kind (below), so this narrowing is sound.
      const existing = built.get(kind) as SecretBackend<SecretReferenceOf<K>> | undefined;
      if (existing) return existing;
      const override: Partial<SecretBackends>[K] = overrides[kind];
      const backend = override ?? factories[kind](settings);
      built.set(kind, backend);
      return backend;
    },
    close() {
      for (const backend of built.values()) backend.close?.();
      built.clear();
    },
  };
}
