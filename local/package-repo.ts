import { generateKeyPairSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, resolve, sep } from 'node:path';
import { buildPackage } from './packages.js';
import { PROXY_VIA } from './https-proxy.js';

/** Where an impostor's packages are served (`<url>/impostor/<version>/…`). */
const IMPOSTOR_PATH = 'impostor';

/** A read-only package repository on loopback HTTP. */
export interface PackageRepo {
  readonly url: string;
  /** PEM of the Ed25519 key, generated for this repository, whose private half signed every package. */
  readonly publicKey: string;
  /**
   * With `impostor`: a base URL serving the same versions signed by another key, with SHA256SUMS to match
   * (a compromised mirror, or whoever controls a node's network).
   */
  readonly impostorUrl?: string;
  /** Paths requested so far (tests prove where downloads came from). */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * Builds the packages of the given versions under `dir` and serves `dir` on 127.0.0.1 (ephemeral port).
 * With `onlyThroughProxy`, a request that did not come through the rehearsal's proxy is refused (403):
 * a download that succeeds proves the node used HTTPS_PROXY.
 */
export async function startPackageRepo(opts: {
  dir: string;
  versions: string[];
  onlyThroughProxy?: boolean;
  corrupt?: string[];
  impostor?: boolean;
}): Promise<PackageRepo> {
  const root = resolve(opts.dir);
  const keys = generateKeyPairSync('ed25519');
  for (const version of opts.versions) await buildPackage(root, version, keys.privateKey);
  if (opts.impostor === true) {
    const impostorKey = generateKeyPairSync('ed25519').privateKey;
    for (const version of opts.versions) await buildPackage(join(root, IMPOSTOR_PATH), version, impostorKey);
  }
  const requests: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      requests.push(path);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (opts.onlyThroughProxy === true && req.headers.via !== PROXY_VIA) {
        res.writeHead(403).end('this repository serves packages only through the proxy\n');
        return;
      }
      const file = resolve(root, `.${path}`);
      if (!file.startsWith(root + sep)) {
        res.writeHead(403).end();
        return;
      }
      try {
        const info = await stat(file);
        if (!info.isFile()) throw new Error('not a file');
        res.writeHead(200, { 'content-length': info.size, 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') res.end();
        else if ((opts.corrupt ?? []).some((v) => path === `/${v}/app-${v}.tar.gz`)) {
          // Fault injection: the right size, the wrong bytes (a corrupted mirror or a tampered package).
          const bytes = await readFile(file);
          bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
          res.end(bytes);
        } else createReadStream(file).pipe(res);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ...(opts.impostor === true ? { impostorUrl: `${url}/${IMPOSTOR_PATH}` } : {}),
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
