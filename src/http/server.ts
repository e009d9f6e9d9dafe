import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import type { Delivery, Outcome } from '../pipeline/intake.ts';
import { decodeHttpEvent, httpResponseFor } from './ingest.ts';
import { renderMetrics, type Sample } from './metrics.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  logger: Logger;
  /** Stores a delivery (group-committed with others) and says what became of it. */
  deliver: (delivery: Delivery) => Promise<Outcome>;
  /** Liveness details (always 200 while the process serves). */
  health: () => Record<string, unknown>;
  /** Readiness: store open, transport connected. */
  ready: () => { ready: boolean; detail: Record<string, unknown> };
  /** Prometheus metrics, read at scrape time. */
  metrics?: () => Sample[];
}

export interface RunningHttpServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** The daemon's HTTP face: CloudEvents ingest on POST /events, /healthz, /readyz, /metrics. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const log = options.logger.child({ component: 'http' });
  const server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url }, 'listening');
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, o: HttpServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok', ...o.health() });
  if (path === '/readyz' && req.method === 'GET') {
    const { ready, detail } = o.ready();
    return sendJson(res, ready ? 200 : 503, { ready, ...detail });
  }
  if (path === '/metrics' && req.method === 'GET' && o.metrics) {
    const text = renderMetrics(o.metrics());
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
    return void res.end(text);
  }
  if (path === '/events') {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST a CloudEvent to /events' });
    const body = await readBody(req, o.maxBodyBytes);
    if (body === null) {
      req.resume();
      return sendJson(res, 413, { status: 'rejected', reason: 'too-large', error: `body exceeds ${o.maxBodyBytes} bytes` });
    }
    const outcome = await o.deliver(decodeHttpEvent(headerRecord(req), body));
    const { status, body: reply } = httpResponseFor(outcome);
    return sendJson(res, status, reply);
  }
  sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
}

/** Reads the body, or returns null once it passes `limit` bytes (the rest is not buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
