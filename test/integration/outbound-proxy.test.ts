import { createServer } from 'node:http';
import { Agent, setGlobalDispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureOutboundHttp } from '../../src/runtime/http.js';
import { loopbackServers } from './loopback-servers.js';

const servers = loopbackServers();

describe('outbound HTTP settings', () => {
  let target: string;
  beforeEach(async () => {
    target = await servers.listen(createServer((_req, res) => res.end('from target')));
  });
  afterEach(async () => {
    setGlobalDispatcher(new Agent());
    await servers.closeAll();
  });

  it('sends requests through HTTP(S)_PROXY', async () => {
    const seen: string[] = [];
    const proxy = await servers.proxy(seen);
    await configureOutboundHttp({ httpProxy: proxy, httpsProxy: proxy, noProxy: '' });
    expect(await (await fetch(`${target}/api/atlas/v2`)).text()).toBe('from target');
    expect(seen).toEqual([`CONNECT ${new URL(target).host}`]);
  });

  it('bypasses the proxy for NO_PROXY hosts', async () => {
    const seen: string[] = [];
    const proxy = await servers.proxy(seen);
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
