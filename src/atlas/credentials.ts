/** An Atlas credential as read from the customer's secret store. Never logged, never sent upstream. */
export type AtlasCredentials =
  | { readonly type: 'api-key'; readonly publicKey: string; readonly privateKey: string }
  | { readonly type: 'service-account'; readonly clientId: string; readonly clientSecret: string };

/**
 * Where the Atlas client gets its credential. The secrets module implements it with a cache; the
 * client calls `invalidate()` when Atlas answers 401, then `get()` once more, so a rotated key is
 * picked up without a restart.
 */
export interface CredentialSource {
  get(signal?: AbortSignal): Promise<AtlasCredentials>;
  invalidate(): void;
}

/** The secret strings inside a credential, for registering with the log scrubber. */
export function credentialSecrets(credentials: AtlasCredentials): string[] {
  return credentials.type === 'api-key' ? [credentials.privateKey] : [credentials.clientSecret];
}
