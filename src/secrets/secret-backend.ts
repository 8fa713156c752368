import type { Agent } from 'node:http';
import type { Clock } from '../runtime/clock.js';
import type { AwsSmSettings } from './aws-sm-backend.js';
import type { AzureKvSettings } from './azure-kv-backend.js';
import type { FileSettings } from './file-backend.js';
import type { SecretBackendKind, SecretReference, SecretReferenceOf } from './secret-reference.js';

/** One secret store. Implementations map every failure to a ConnectorError that never holds the value. */
export interface SecretBackend<R extends SecretReference> {
  /** The secret's text, as stored. */
  read(reference: R, signal: AbortSignal): Promise<string>;
  /** Releases pooled connections. Idempotent. */
  close?(): void;
}

export type SecretBackends = {
  readonly [K in SecretBackendKind]: SecretBackend<SecretReferenceOf<K>>;
};

/** What a backend may be built from: handed down by the composition root, never read from globals. */
export interface SecretBackendSettings {
  /** The process environment as seen by the composition root: `env://` reads it, AWS defaults come from it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Pick<Clock, 'now'>;
  /** Proxy and CA bundle for the cloud SDKs (`createOutboundAgent`); absent: the SDKs' defaults. */
  readonly agent?: Agent;
  readonly aws?: AwsSmSettings;
  readonly azure?: AzureKvSettings;
  readonly file?: FileSettings;
}

export type SecretBackendFactory<K extends SecretBackendKind> = (
  settings: SecretBackendSettings,
) => SecretBackend<SecretReferenceOf<K>>;
