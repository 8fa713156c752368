import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';

const tlsDir = join(import.meta.dirname, '../fixtures/tls');
/** A private test CA (never a real one) and a server certificate it signed (names: fixtures/tls/README.md). */
export const testCaFile = join(tlsDir, 'ca.pem');

export interface LoopbackServers {
  /** Listens on 127.0.0.1, port 0; returns the base URL. */
  listen(server: Server, scheme?: 'http' | 'https'): Promise<string>;
  /**
   * A forward proxy (absolute-form requests and CONNECT tunnels) recording what it was asked for.
   * `hosts` stands in for DNS at the proxy: a tunnel to `name:port` goes to `hosts[name:port]`.
   */
  proxy(seen: string[], hosts?: Readonly<Record<string, string>>): Promise<string>;
  /** An HTTPS server whose certificate only the test CA vouches for. */
  tls(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string>;
  closeAll(): Promise<void>;
}

export function loopbackServers(): LoopbackServers {
  const servers: Server[] = [];
  // Tunnels and keep-alive sockets outlive requests; closing a server must not wait for them.
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const listen = async (server: Server, scheme: 'http' | 'https' = 'http'): Promise<string> => {
    servers.push(server);
    server.on('connection', track);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  return {
    listen,
    proxy: (seen, hosts = {}) => listen(forwardProxy(seen, hosts, track)),
    tls: (handler) =>
      listen(
        createTlsServer(
          {
            cert: readFileSync(join(tlsDir, 'server.pem')),
            key: readFileSync(join(tlsDir, 'server-key.pem')),
          },
          (req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
          },
        ),
        'https',
      ),
    async closeAll() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        servers.splice(0).map((server) => {
          server.closeAllConnections();
          return new Promise((resolve) => server.close(resolve));
        }),
      );
    },
  };
}

function forwardProxy(
  seen: string[],
  hosts: Readonly<Record<string, string>>,
  track: (socket: Socket) => void,
): Server {
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
    const target = req.url ?? '';
    const [host = '', port = '80'] = (hosts[target] ?? target).split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return server;
}
