import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/** The HTTP port: every client takes a `fetch` so tests can intercept it (strict nock) or replace it. */
export type Fetch = typeof globalThis.fetch;

export interface OutboundHttpSettings {
  readonly httpsProxy?: string;
  readonly httpProxy?: string;
  readonly noProxy?: string;
  /** Path to a PEM bundle trusted in addition to the system roots (TLS-intercepting proxies). */
  readonly caBundleFile?: string;
}

/**
 * Installs the process-wide dispatcher behind Node's `fetch`: proxy from HTTPS_PROXY/NO_PROXY and
 * an extra CA bundle. Called once, from the composition root (and `doctor`) only.
 */
export async function configureOutboundHttp(settings: OutboundHttpSettings): Promise<void> {
  const usesProxy = Boolean(settings.httpsProxy || settings.httpProxy);
  if (!usesProxy && !settings.caBundleFile) return;
  // Loaded only when needed: undici costs ~20 MB of memory, and Node's fetch already includes a client.
  const { Agent, EnvHttpProxyAgent, setGlobalDispatcher } = await import('undici');
  const ca = settings.caBundleFile
    ? [...rootCertificates, readFileSync(settings.caBundleFile, 'utf8')]
    : undefined;
  const tls = ca ? { ca } : {};
  const keepAlive = { keepAliveTimeout: 30_000, connect: tls };
  setGlobalDispatcher(
    usesProxy
      ? new EnvHttpProxyAgent({
          ...keepAlive,
          httpProxy: settings.httpProxy,
          httpsProxy: settings.httpsProxy,
          noProxy: settings.noProxy,
          requestTls: tls,
          proxyTls: tls,
        })
      : new Agent(keepAlive),
  );
}
