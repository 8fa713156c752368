import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import type { AtlasCredentials, CredentialSource } from '../credentials.js';
import { abortable } from '../../runtime/abortable.js';
import { runWriteGuard } from '../../runtime/write-guard.js';
import { readUnauthorized, type Authenticator, type OutgoingRequest } from './authenticator.js';
import type { HttpReply } from '../../runtime/http.js';

export interface AuthSession {
  /**
   * Sends with the current credential. A 401 that survives the authenticator's own retry makes the
   * session invalidate the credential, read it again and send once more; the response of that
   * second try is returned as is (a 401 included) for the transport to map. A credential that
   * Atlas refused right after such a re-read is not read again for `rereadIntervalMs`.
   */
  send(request: OutgoingRequest, signal?: AbortSignal): Promise<HttpReply>;
  /**
   * Reads the credential if the session holds none yet, so that a caller can wait for the secret
   * store apart from Atlas: its failure is then no Atlas request, and its time no attempt's.
   */
  ready(signal?: AbortSignal): Promise<void>;
  secrets(): readonly string[];
  close(signal?: AbortSignal): Promise<void>;
}

export interface AuthSessionDeps {
  readonly credentials: CredentialSource;
  readonly authenticatorFor: (credentials: AtlasCredentials) => Authenticator;
  readonly logger: Logger;
  readonly clock: Pick<Clock, 'monotonic'>;
}

/**
 * How long a credential that Atlas refused again right after it was read again is kept as it is.
 * Reading the store again could not change it sooner than someone fixes the secret, and without a
 * pause every Atlas call of every job (a sweep's, once per project) read the secret store again.
 */
export const rereadIntervalMs = 60_000;

type Attempt = { readonly response: HttpReply } | { readonly refused: ConnectorError };

export function createAuthSession(deps: AuthSessionDeps): AuthSession {
  return new CredentialAuthSession(deps);
}

class CredentialAuthSession implements AuthSession {
  private loading: Promise<Authenticator> | undefined;
  private current: Authenticator | undefined;
  private closing: Promise<void> | undefined;
  /** Attempts under way per authenticator, so a replaced one is closed once its last is done. */
  private readonly inUse = new Map<Authenticator, number>();
  /** Replaced authenticators that an attempt still uses: closed when it ends. */
  private readonly replaced = new Set<Authenticator>();
  /** Closes (an OAuth token's revoke) of replaced authenticators under way, for close to wait on. */
  private readonly retiring = new Set<Promise<void>>();
  /** The authenticator read again after a 401 and refused in turn, and when. */
  private refusedAfterReread: { readonly auth: Authenticator; readonly atMs: number } | undefined;

  constructor(private readonly deps: AuthSessionDeps) {}

  async send(request: OutgoingRequest, signal?: AbortSignal): Promise<HttpReply> {
    signal?.throwIfAborted();
    this.assertOpen();
    // Once loaded, the authenticator is used as is: no abort race around a settled load per call.
    const auth = this.current ?? (await this.authenticator(signal));
    const first = await this.attempt(auth, request, signal);
    if ('response' in first) {
      if (first.response.status !== 401) return first.response;
      // A role the credential lacks in that project is no reason to read the credential again.
      const unauthorized = await readUnauthorized(first.response);
      if (unauthorized.refusesRole || this.recentlyRefused(auth)) return unauthorized.reply;
    } else if (this.recentlyRefused(auth)) {
      throw first.refused;
    }
    this.assertOpen();
    const renewed = await this.replace(auth, signal);
    // A write sent again after the credential was read again: the job's lease may have lapsed.
    runWriteGuard(signal);
    const second = await this.attempt(renewed, request, signal);
    if ('refused' in second || second.response.status === 401) {
      this.refusedAfterReread = { auth: renewed, atMs: this.deps.clock.monotonic() };
    }
    if ('refused' in second) throw second.refused;
    return second.response;
  }

  async ready(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.assertOpen();
    if (!this.current) await this.authenticator(signal);
  }

  private recentlyRefused(auth: Authenticator): boolean {
    const refused = this.refusedAfterReread;
    return refused?.auth === auth && this.deps.clock.monotonic() - refused.atMs < rereadIntervalMs;
  }

  secrets(): readonly string[] {
    return this.current?.secrets() ?? [];
  }

  close(signal?: AbortSignal): Promise<void> {
    this.closing ??= (async () => {
      const auth = this.current ?? (await this.loading?.catch(() => undefined));
      const stillUsed = [...this.replaced].map((replaced) => replaced.close());
      await Promise.allSettled([auth?.close(), ...stillUsed, ...this.retiring]);
    })();
    return abortable(this.closing, signal);
  }

  private authenticator(signal?: AbortSignal): Promise<Authenticator> {
    this.loading ??= this.deps.credentials.get().then(
      (credentials) => {
        this.current = this.deps.authenticatorFor(credentials);
        return this.current;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return abortable(this.loading, signal);
  }

  /** Concurrent 401s on one credential re-read it once, not once per call. */
  private replace(stale: Authenticator, signal?: AbortSignal): Promise<Authenticator> {
    if (this.current === stale) {
      this.deps.logger.warn('atlas credential refused; invalidating and reading it again');
      this.deps.credentials.invalidate();
      this.current = undefined;
      this.loading = undefined;
      // Its OAuth token would otherwise stay valid upstream for up to an hour.
      if (this.inUse.has(stale)) this.replaced.add(stale);
      else this.retire(stale);
    }
    return this.authenticator(signal);
  }

  private async attempt(
    auth: Authenticator,
    request: OutgoingRequest,
    signal?: AbortSignal,
  ): Promise<Attempt> {
    this.inUse.set(auth, (this.inUse.get(auth) ?? 0) + 1);
    try {
      return { response: await auth.send(request, signal) };
    } catch (error) {
      // A token endpoint refusing the client secret is the same signal as a 401 on the API.
      if (isConnectorError(error) && error.code === 'auth_failed') return { refused: error };
      throw error;
    } finally {
      this.release(auth);
    }
  }

  private release(auth: Authenticator): void {
    const left = (this.inUse.get(auth) ?? 1) - 1;
    if (left > 0) {
      this.inUse.set(auth, left);
      return;
    }
    this.inUse.delete(auth);
    if (this.replaced.delete(auth)) this.retire(auth);
  }

  /** Closes a replaced authenticator off the caller's path; close() never rejects for this. */
  private retire(auth: Authenticator): void {
    const retiring: Promise<void> = auth
      .close()
      .catch(() => undefined)
      .finally(() => this.retiring.delete(retiring));
    this.retiring.add(retiring);
  }

  private assertOpen(): void {
    // Not retryable: waiting will not reopen a closed client.
    if (this.closing) {
      throw new ConnectorError({ code: 'cancelled', message: 'atlas client is closed', retryable: false });
    }
  }
}
