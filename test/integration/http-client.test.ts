import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/runtime/http.js';
import { createOutboundAgent } from '../../src/runtime/outbound-agent.js';
import { loopbackServers, testCaFile } from './loopback-servers.js';

const servers = loopbackServers();

// Real sockets end to end (keep-alive, proxies, TLS): nock's interceptor would hand the client a
// connection of its own making. Only loopback servers are reached.
beforeAll(() => nock.restore());
afterAll(() => nock.activate());

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A loopback HTTP server; `handler` sees each request with its whole body. */
async function target(handler: Handler): Promise<string> {
  return servers.listen(
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
    }),
  );
}

afterEach(async () => {
  await servers.closeAll();
});

describe('createHttpClient (the daemon and doctor HTTP client)', () => {
  it('sends method, headers and body, and answers status, headers (any case) and text', async () => {
    const seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string }[] = [];
    const base = await target((req, body, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(201, { 'content-type': 'application/json', 'x-rate-limit': '7' });
      res.end('{"ok":true,"name":"é"}');
    });
    const reply = await createHttpClient()(`${base}/api/atlas/v2/orgs/o1/users?username=a%40b.c`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Digest x' },
      body: '{"orgRole":"ORG_MEMBER","note":"é"}',
    });
    expect(reply.status).toBe(201);
    expect(reply.ok).toBe(true);
    expect(reply.statusText).toBe('Created');
    expect(reply.headers.get('X-Rate-Limit')).toBe('7');
    expect(reply.headers.get('absent')).toBeNull();
    expect(await reply.text()).toBe('{"ok":true,"name":"é"}');
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/api/atlas/v2/orgs/o1/users?username=a%40b.c',
        headers: expect.objectContaining({
          'content-type': 'application/json',
          authorization: 'Digest x',
          'content-length': String(Buffer.byteLength('{"orgRole":"ORG_MEMBER","note":"é"}')),
          'accept-encoding': 'gzip, deflate, br',
        }),
        body: '{"orgRole":"ORG_MEMBER","note":"é"}',
      },
    ]);
  });

  it('reuses one connection for sequential requests (keep-alive)', async () => {
    const ports = new Set<number>();
    const base = await target((req, _body, res) => {
      ports.add(req.socket.remotePort ?? 0);
      res.end('x');
    });
    const http = createHttpClient();
    for (let i = 0; i < 5; i += 1) expect(await (await http(`${base}/`)).text()).toBe('x');
    expect(ports.size).toBe(1);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decodes a %s body', async (encoding, encode) => {
    const text = JSON.stringify({ results: Array.from({ length: 200 }, (_, i) => ({ id: i })) });
    const base = await target((_req, _body, res) => {
      res.writeHead(200, { 'content-encoding': encoding });
      res.end(encode(Buffer.from(text)));
    });
    expect(await (await createHttpClient()(`${base}/`)).text()).toBe(text);
  });

  it.each([
    ['204 No Content', 204, {}],
    ['an empty 200 (Content-Length: 0)', 200, { 'content-length': '0' }],
  ] as const)(
    'answers %s labelled gzip with an empty body, not a decoding error',
    async (_name, status, extra) => {
      const base = await target((_req, _body, res) => {
        res.writeHead(status, { 'content-encoding': 'gzip', ...extra });
        res.end();
      });
      const reply = await createHttpClient()(`${base}/`, { method: 'DELETE' });
      expect(reply.status).toBe(status);
      expect(await reply.text()).toBe('');
    },
  );

  it('refuses a body in an encoding it cannot decode, naming it', async () => {
    const base = await target((_req, _body, res) => {
      res.writeHead(200, { 'content-encoding': 'zstd-ish' });
      res.end('???');
    });
    await expect(createHttpClient()(`${base}/`)).rejects.toThrow(/unsupported content-encoding: zstd-ish/);
  });

  it('refuses a body larger than maxBodyBytes (also after decoding)', async () => {
    const big = 'a'.repeat(10_000);
    const base = await target((req, _body, res) => {
      if (req.url === '/gz') {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync(Buffer.from(big)));
      } else res.end(big);
    });
    const http = createHttpClient({ maxBodyBytes: 1_000 });
    await expect(http(`${base}/plain`)).rejects.toThrow(/larger than 1000 bytes/);
    await expect(http(`${base}/gz`)).rejects.toThrow(/larger than 1000 bytes/);
    // The client still works afterwards.
    await expect(createHttpClient()(`${base}/plain`).then((r) => r.text())).resolves.toHaveLength(10_000);
  });

  it('does not follow a redirect: a credential-bearing request is never re-sent elsewhere', async () => {
    const paths: string[] = [];
    const base = await target((req, _body, res) => {
      paths.push(req.url ?? '');
      res.writeHead(307, { location: '/elsewhere' });
      res.end();
    });
    const reply = await createHttpClient()(`${base}/start`, { headers: { authorization: 'Bearer t' } });
    expect(reply.status).toBe(307);
    expect(reply.ok).toBe(false);
    expect(reply.headers.get('location')).toBe('/elsewhere');
    expect(paths).toEqual(['/start']);
  });

  it('rejects with the signal reason on abort, before and during the request', async () => {
    const base = await target(() => undefined); // never answers
    const http = createHttpClient();
    const reason = new Error('job cancelled');
    await expect(http(`${base}/`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const pending = http(`${base}/`, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });

  it("leaves no abort listener on the caller's signal once a call has settled", async () => {
    const base = await target((req, _body, res) => {
      if (req.url === '/fail') req.socket.destroy();
      else res.end('ok');
    });
    const http = createHttpClient();
    const signal = new AbortController().signal;
    expect(await (await http(`${base}/`, { signal })).text()).toBe('ok');
    await expect(http(`${base}/fail`, { signal })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the signal reason when aborted while the body is arriving', async () => {
    const base = await target((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial'); // and never ends
    });
    const controller = new AbortController();
    const reason = new Error('deadline');
    const pending = createHttpClient()(`${base}/`, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });

  it('reports a connection cut mid-body as ECONNRESET', async () => {
    const base = await target((_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    await expect(createHttpClient()(`${base}/`)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it("rejects a refused connection with Node's error code", async () => {
    const base = await target((_req, _body, res) => res.end());
    await servers.closeAll();
    await expect(createHttpClient()(`${base}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses a header value with a line break before sending anything', async () => {
    let requests = 0;
    const base = await target((_req, _body, res) => {
      requests += 1;
      res.end();
    });
    await expect(
      createHttpClient()(`${base}/`, { headers: { authorization: 'Bearer a\r\nx-injected: 1' } }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
    expect(requests).toBe(0);
  });

  it('refuses a scheme other than http and https', async () => {
    await expect(createHttpClient()('ftp://127.0.0.1/x')).rejects.toThrow(/unsupported URL scheme ftp:/);
  });
});

describe('createHttpClient on the outbound agent (HTTPS_PROXY, NO_PROXY, CA_BUNDLE_FILE)', () => {
  it('sends requests through HTTP_PROXY', async () => {
    const seen: string[] = [];
    const proxy = await servers.proxy(seen);
    const base = await target((_req, _body, res) => res.end('from target'));
    const agent = createOutboundAgent({ httpProxy: proxy, httpsProxy: proxy, noProxy: '' });
    const reply = await createHttpClient({ agent })(`${base}/api/atlas/v2`);
    expect(await reply.text()).toBe('from target');
    expect(seen).toEqual([`${base}/api/atlas/v2`]);
  });

  it('tunnels https through HTTPS_PROXY and trusts CA_BUNDLE_FILE for the target', async () => {
    const seen: string[] = [];
    const proxy = await servers.proxy(seen);
    const base = await servers.tls((_req, _body, res) => res.end('over tls'));
    const agent = createOutboundAgent({ httpsProxy: proxy, noProxy: '', caBundleFile: testCaFile });
    const reply = await createHttpClient({ agent })(`${base}/x`);
    expect(await reply.text()).toBe('over tls');
    expect(seen).toEqual([`CONNECT ${new URL(base).host}`]);
  });

  it('trusts CA_BUNDLE_FILE for an https target reached directly, with no proxy', async () => {
    const base = await servers.tls((_req, _body, res) => res.end('over tls'));
    const agent = createOutboundAgent({ noProxy: '', caBundleFile: testCaFile });
    expect(await (await createHttpClient({ agent })(`${base}/x`)).text()).toBe('over tls');
  });

  it('refuses a certificate no trusted CA signed, with the TLS reason as the code', async () => {
    const base = await servers.tls((_req, _body, res) => res.end('over tls'));
    await expect(createHttpClient()(`${base}/x`)).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
    });
  });

  it('bypasses the proxy for NO_PROXY hosts', async () => {
    const seen: string[] = [];
    const proxy = await servers.proxy(seen);
    const base = await target((_req, _body, res) => res.end('from target'));
    const agent = createOutboundAgent({ httpProxy: proxy, httpsProxy: proxy, noProxy: '127.0.0.1' });
    expect(await (await createHttpClient({ agent })(`${base}/x`)).text()).toBe('from target');
    expect(seen).toEqual([]);
  });

  it('refuses an unreadable CA bundle instead of silently trusting only the system roots', () => {
    expect(() => createOutboundAgent({ caBundleFile: '/nonexistent/ca.pem' })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('(ENOENT)') }),
    );
  });
});
