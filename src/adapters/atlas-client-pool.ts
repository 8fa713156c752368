import { createAtlasClient, type AtlasClient, type AtlasClientOptions } from '../atlas/index.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import type { AtlasCredential } from './adapter.js';
import type { CredentialState } from './credential-state.js';

export interface AtlasClientPool {
  /**
   * One credential per secret: its client (digest nonce, OAuth token and pacing) and its state
   * (readiness trackers, recent clusters) are shared by every job using that credential, whichever
   * spelling of the secret reference its integration uses.
   */
  credentialFor(secretRef: string): AtlasCredential;
  closeAll(signal?: AbortSignal): Promise<void>;
}

export function createAtlasClientPool(
  resolver: Pick<SecretResolver, 'credentialSourceFor' | 'secretKey'>,
  options: Omit<AtlasClientOptions, 'credentials'>,
  createState: (atlas: AtlasClient) => CredentialState,
): AtlasClientPool {
  const credentials = new Map<string, AtlasCredential>();
  /** By the reference's text as integrations spell it: every job asks, and parsing it is not free. */
  const bySpelling = new Map<string, AtlasCredential>();
  return {
    credentialFor(secretRef) {
      const known = bySpelling.get(secretRef);
      if (known) return known;
      // Keyed as the secret cache is: two spellings with a client each would pace apart (together
      // past Atlas's limits), mint an OAuth token each and track one project's changes twice.
      const key = resolver.secretKey(secretRef);
      let credential = credentials.get(key);
      if (!credential) {
        const atlas = createAtlasClient({ ...options, credentials: resolver.credentialSourceFor(secretRef) });
        credential = { atlas, ...createState(atlas) };
        credentials.set(key, credential);
      }
      bySpelling.set(secretRef, credential);
      return credential;
    },
    async closeAll(signal) {
      const all = [...credentials.values()];
      credentials.clear();
      bySpelling.clear();
      await Promise.allSettled(all.map(({ atlas }) => atlas.close(signal)));
    },
  };
}
