import { Agent as HttpsAgent } from 'node:https';
import { ConnectorError } from '../errors/connector-error.js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Agent as HttpAgent, ClientRequest } from 'node:http';
import { createRequire } from 'node:module';
import type * as AgentBase from 'agent-base';
import type { AgentConnectOpts } from 'agent-base';
import type * as HttpProxyAgentModule from 'http-proxy-agent';
import type * as HttpsProxyAgentModule from 'https-proxy-agent';
import type { OutboundHttpSettings } from './http.js';
import { http } from './node-http.js';

/**
 * The one Node `http.Agent` for every outbound call: the connector's HTTP client (control plane,
 * Atlas; `src/runtime/http.ts`) and the cloud SDKs (AWS Secrets Manager and STS, Azure Key Vault
 * and Entra ID), which all use Node's http/https modules. Rules: HTTPS_PROXY/HTTP_PROXY with
 * NO_PROXY, and CA_BUNDLE_FILE trusted on top of the system roots, for the proxy and the target.
 * `undefined` when nothing is configured: the SDKs then keep their own defaults.
 */
export function createOutboundAgent(settings: OutboundHttpSettings): HttpAgent | undefined {
  const usesProxy = Boolean(settings.httpsProxy || settings.httpProxy);
  if (!usesProxy && !settings.caBundleFile) return undefined;
  const { RoutingAgent, HttpProxyAgent, TrustingHttpsProxyAgent } = proxyAgents();
  const ca = settings.caBundleFile ? [...rootCertificates, readCaBundle(settings.caBundleFile)] : undefined;
  const tls = ca ? { ca } : {};
  const direct = {
    http: new http.Agent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true, ...tls }),
  };
  const proxied = {
    http: settings.httpProxy
      ? new HttpProxyAgent(settings.httpProxy, { keepAlive: true, ...tls })
      : undefined,
    https: settings.httpsProxy ? new TrustingHttpsProxyAgent(settings.httpsProxy, tls) : undefined,
  };
  return new (class extends RoutingAgent {
    connect(_req: ClientRequest, options: AgentConnectOpts): HttpAgent {
      const scheme = options.secureEndpoint ? 'https' : 'http';
      const proxy = proxied[scheme];
      if (proxy && !bypassesProxy(options.host ?? '', options.port, settings.noProxy)) return proxy;
      return direct[scheme];
    }
  })();
}

/**
 * NO_PROXY as curl reads it: comma- or space-separated hosts, `*` for all, a leading
 * `.` or `*.` for a domain and its subdomains, an optional `:port`.
 */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  const target = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (noProxy ?? '')
    .split(/[\s,]+/)
    .filter((entry) => entry.length > 0)
    .some((entry) => {
      if (entry === '*') return true;
      const [, rawHost = entry, entryPort] = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(entry) ?? [];
      if (entryPort !== undefined && Number(entryPort) !== port) return false;
      const domain = rawHost
        .replace(/^\[|\]$/g, '')
        .replace(/^\*?\./, '')
        .toLowerCase();
      return target === domain || target.endsWith(`.${domain}`);
    });
}

/**
 * The proxy agents, loaded only by a replica that uses them (a proxy or a CA bundle): about 0.3 MB
 * of the idle daemon's resident memory otherwise (docs/benchmarks.md). The three packages are
 * CommonJS, so `require` loads them at once, and `createOutboundAgent` stays synchronous.
 */
function proxyAgents() {
  const load = createRequire(import.meta.url);
  const { Agent: RoutingAgent } = load('agent-base') as typeof AgentBase;
  const { HttpProxyAgent } = load('http-proxy-agent') as typeof HttpProxyAgentModule;
  const { HttpsProxyAgent } = load('https-proxy-agent') as typeof HttpsProxyAgentModule;

  /**
   * HttpsProxyAgent applies its constructor's TLS options to the proxy connection only; the
   * target's handshake inside the tunnel takes the request's options, so the CA is added there.
   */
  class TrustingHttpsProxyAgent extends HttpsProxyAgent<string> {
    constructor(
      proxy: string,
      private readonly tls: { readonly ca?: string[] },
    ) {
      super(proxy, { keepAlive: true, ...tls });
    }

    override connect(req: ClientRequest, options: AgentConnectOpts) {
      return super.connect(req, { ...options, ...this.tls });
    }
  }
  return { RoutingAgent, HttpProxyAgent, TrustingHttpsProxyAgent };
}

/**
 * The extra CA bundle; one that cannot be read, or holds no certificate Node can use, is a
 * configuration problem naming the variable. Node drops whatever in `ca` is not a PEM certificate
 * without a word (a DER file, an empty key, a truncated block), which would leave only the system
 * roots trusted and every call through an intercepting proxy failing on its certificate.
 */
function readCaBundle(path: string): string {
  const text = readCaFile(path);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const fix = `; put PEM certificates (-----BEGIN CERTIFICATE-----) in it, e.g. openssl x509 -inform der -in ca.der -out ca.pem, or unset CA_BUNDLE_FILE`;
  if (blocks.length === 0)
    throw new ConnectorError({
      code: 'config_invalid',
      message: `CA_BUNDLE_FILE: ${path} holds no PEM certificate${fix}`,
    });
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new ConnectorError({
        code: 'config_invalid',
        message: `CA_BUNDLE_FILE: ${path}: certificate ${index + 1} of ${blocks.length} cannot be parsed${fix}`,
        cause: error,
      });
    }
  });
  return text;
}

function readCaFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ConnectorError({
      code: 'config_invalid',
      message: `CA_BUNDLE_FILE: cannot read ${path} (${code}); mount the PEM bundle at that path or unset CA_BUNDLE_FILE`,
      cause: error,
    });
  }
}
