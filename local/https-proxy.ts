import { connect } from 'node:net';
import { createServer, request } from 'node:http';

/** Header the rehearsal's proxy adds to every request it forwards; the package repository can insist on it. */
export const PROXY_VIA = '1.1 fleet-upgrade-rehearsal-proxy';

export interface LocalProxy {
  readonly url: string;
  /** Requests forwarded so far: `GET http://127.0.0.1:…/3.1.0/app-3.1.0.tar.gz` or `CONNECT host:port`. */
  readonly forwarded: string[];
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/**
 * A forward proxy on loopback (absolute-form GET/HEAD and CONNECT), the stand-in for an operator's
 * HTTPS_PROXY. It forwards to loopback only: nothing a rehearsal does may leave the machine.
 */
export async function startLocalProxy(port = 0): Promise<LocalProxy> {
  const forwarded: string[] = [];
  const server = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('a proxy request needs an absolute URL\n');
      return;
    }
    if (target.protocol !== 'http:' || !isLoopback(target.hostname)) {
      res.writeHead(403).end('the rehearsal proxy forwards to loopback http only\n');
      return;
    }
    forwarded.push(`${req.method ?? 'GET'} ${target.href}`);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: { ...req.headers, host: target.host, via: PROXY_VIA },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (error) => res.writeHead(502).end(`upstream: ${error.message}\n`));
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    const [host = '', port = '443'] = (req.url ?? '').split(/:(?=\d+$)/);
    if (!isLoopback(host)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    forwarded.push(`CONNECT ${req.url ?? ''}`);
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', done);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://127.0.0.1:${bound}`,
    forwarded,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
