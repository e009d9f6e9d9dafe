import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

/**
 * GET `path` on a daemon as a probe does: no credentials. `url` is what the daemon logged
 * (`https://0.0.0.0:PORT` when it listens on all addresses: asked on 127.0.0.1); `ca` trusts its certificate.
 */
export function probe(url: string, path: string, ca?: string): Promise<{ status: number; body: string }> {
  const target = new URL(path, url.replace('://0.0.0.0:', '://127.0.0.1:'));
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = target.protocol === 'https:' ? httpsGet(target, { ca }, onResponse) : httpGet(target, onResponse);
    req.on('error', reject);
  });
}
