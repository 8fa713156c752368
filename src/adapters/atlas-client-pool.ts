import { createAtlasClient, type AtlasClient, type AtlasClientOptions } from '../atlas/index.js';
import type { SecretResolver } from '../secrets/secret-resolver.js';

export interface AtlasClientPool {
  /** One client per secret reference: its digest nonce, OAuth token and pacing are shared by every job using that credential. */
  clientFor(secretRef: string): AtlasClient;
  closeAll(signal?: AbortSignal): Promise<void>;
}

export function createAtlasClientPool(
  resolver: Pick<SecretResolver, 'credentialSourceFor'>,
  options: Omit<AtlasClientOptions, 'credentials'>,
): AtlasClientPool {
  const clients = new Map<string, AtlasClient>();
  return {
    clientFor(secretRef) {
      let client = clients.get(secretRef);
      if (!client) {
        client = createAtlasClient({ ...options, credentials: resolver.credentialSourceFor(secretRef) });
        clients.set(secretRef, client);
      }
      return client;
    },
    async closeAll(signal) {
      const all = [...clients.values()];
      clients.clear();
      await Promise.allSettled(all.map((client) => client.close(signal)));
    },
  };
}
