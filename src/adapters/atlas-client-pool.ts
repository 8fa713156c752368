import { createAtlasClient, type AtlasClient, type AtlasClientOptions } from '../atlas/index.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';
import type { AtlasCredential } from './adapter.js';
import type { CredentialState } from './credential-state.js';

export interface AtlasClientPool {
  /**
   * One credential per secret reference: its client (digest nonce, OAuth token and pacing) and its
   * state (readiness trackers, recent clusters) are shared by every job using that credential.
   */
  credentialFor(secretRef: string): AtlasCredential;
  closeAll(signal?: AbortSignal): Promise<void>;
}

export function createAtlasClientPool(
  resolver: Pick<SecretResolver, 'credentialSourceFor'>,
  options: Omit<AtlasClientOptions, 'credentials'>,
  createState: (atlas: AtlasClient) => CredentialState,
): AtlasClientPool {
  const credentials = new Map<string, AtlasCredential>();
  return {
    credentialFor(secretRef) {
      let credential = credentials.get(secretRef);
      if (!credential) {
        const atlas = createAtlasClient({ ...options, credentials: resolver.credentialSourceFor(secretRef) });
        credential = { atlas, ...createState(atlas) };
        credentials.set(secretRef, credential);
      }
      return credential;
    },
    async closeAll(signal) {
      const all = [...credentials.values()];
      credentials.clear();
      await Promise.allSettled(all.map(({ atlas }) => atlas.close(signal)));
    },
  };
}
