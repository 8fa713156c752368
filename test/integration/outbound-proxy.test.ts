import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Agent, setGlobalDispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureOutboundHttp } from '../../src/runtime/http.js';

const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A forward proxy (absolute-form requests and CONNECT tunnels) that records what it was asked for. */
async function startProxy(seen: string[]): Promise<string> {
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const upstream = request(req.url ?? '', { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, client, head) => {
    seen.push(`CONNECT ${req.url ?? ''}`);
    const [host = '', port = '80'] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return listen(server);
}

describe('outbound HTTP settings', () => {
  let target: string;
  beforeEach(async () => {
    target = await listen(createServer((_req, res) => res.end('from target')));
  });
  afterEach(async () => {
    setGlobalDispatcher(new Agent());
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('sends requests through HTTP(S)_PROXY', async () => {
    const seen: string[] = [];
    const proxy = await startProxy(seen);
    await configureOutboundHttp({ httpProxy: proxy, httpsProxy: proxy, noProxy: '' });
    expect(await (await fetch(`${target}/api/atlas/v2`)).text()).toBe('from target');
    expect(seen).toEqual([`CONNECT ${new URL(target).host}`]);
  });

  it('bypasses the proxy for NO_PROXY hosts', async () => {
    const seen: string[] = [];
    const proxy = await startProxy(seen);
    await configureOutboundHttp({ httpProxy: proxy, httpsProxy: proxy, noProxy: '127.0.0.1' });
    expect(await (await fetch(`${target}/x`)).text()).toBe('from target');
    expect(seen).toEqual([]);
  });

  it('refuses an unreadable CA bundle instead of silently trusting only the system roots', async () => {
    await expect(configureOutboundHttp({ caBundleFile: '/nonexistent/ca.pem' })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
