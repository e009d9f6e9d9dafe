import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { decodeHttpEvent, httpResponseFor } from '../bus/embedded/codec.ts';
import { MessageRejectedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Delivery, Outcome } from '../pipeline/intake.ts';
import { assertListenerAllowed, combineIdentities, identify, identifyClientCertificate, type BearerTokens, type RequestIdentity, type ServerTls } from './auth.ts';
import { isLoopbackHost } from '../trust.ts';
import { renderMetrics, type Sample } from './metrics.ts';
import { createDashboard, type Dashboard } from './dashboard/routes.ts';
import { CorrelationId } from './dashboard/params.ts';
import type { DashboardReads } from './dashboard/reads.ts';
import { answerReplay, type ReplayRoute } from './replay-route.ts';

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
  metrics?: () => Sample[] | Promise<Sample[]>;
  /** The stored events of one chain (`GET /events?correlation=ID`), oldest first: how a client follows what it asked for. */
  chain?: (correlationId: string) => Promise<unknown[]>;
  /** The dashboard's read functions: with them, `GET /` and the pages under it (src/http/dashboard/). */
  dashboard?: DashboardReads | undefined;
  /** With it, `POST /replay`: an operator's replay, dry run first (src/http/replay-route.ts). */
  replay?: ReplayRoute | undefined;
  /** Bearer tokens and their publishers. Without any, every request is anonymous and only a loopback host is allowed. */
  tokens?: BearerTokens | undefined;
  /** Serve HTTPS; with `ca`, client certificates it verifies authenticate their subject CN. */
  tls?: ServerTls | undefined;
  /** Connection limits and timeouts; each defaults to {@link DEFAULT_HTTP_LIMITS}. */
  limits?: Partial<HttpLimits> | undefined;
}

export interface HttpLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** The config schema's defaults (`http.*`), for callers without a config. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = { maxConnections: 256, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

/** Request headers, all together; larger is answered 431 by Node. (Node's default, stated so it stays.) */
const MAX_HEADER_BYTES = 16 * 1024;
/** CloudEvents binary mode needs a dozen or so; more is not a client of ours. */
const MAX_HEADERS_COUNT = 64;
/** Credentials are not kept with a rejected message's headers. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

export interface RunningHttpServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The daemon's HTTP face: CloudEvents ingest on POST /events, /healthz, /readyz, /metrics, an
 * operator's replay on POST /replay, and the dashboard at /.
 * @throws ConfigError naming `http.host` when the host is not loopback and no client could be
 *   authenticated there (no token, no client CA).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { tls } = options;
  assertListenerAllowed(options.host, options.tokens, tls?.ca !== undefined);
  const log = options.logger.child({ component: 'http' });
  const dashboard = options.dashboard ? createDashboard(options.dashboard, options.logger) : null;
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const httpOptions: ServerOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both timeouts on this period (default 30 s): a short timeout needs a short period.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, options, dashboard, log).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
  const server: Server = tls
    ? createHttpsServer(
        // Certificates are asked for, not required: a client without one is anonymous (health checks, open topics); a bad one is refused per request (401).
        { ...httpOptions, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}) },
        onRequest,
      )
    : createServer(httpOptions, onRequest);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
  log.info({ url }, 'listening');
  if (!tls && !isLoopbackHost(options.host)) log.warn({ url }, 'plain HTTP beyond loopback: bearer tokens cross the network in clear; set http.tls or put TLS in front');
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        // Open log streams would hold the server open until their jobs end.
        dashboard?.close();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, o: HttpServerOptions, dashboard: Dashboard | null, log: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const identity = identityOf(req, o);
  if (identity.kind === 'refused') {
    // Not stored: an unauthenticated sender gets no room in the database.
    log.warn({ remote: req.socket.remoteAddress, method: req.method, path, reason: identity.reason }, 'unauthenticated request refused');
    return answerAndClose(req, res, 401, { status: 'rejected', reason: 'unauthenticated', error: identity.reason }, { 'www-authenticate': 'Bearer realm="relengd"' });
  }
  if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok', ...o.health() });
  if (path === '/readyz' && req.method === 'GET') {
    const { ready, detail } = o.ready();
    return sendJson(res, ready ? 200 : 503, { ready, ...detail });
  }
  if (path === '/metrics' && req.method === 'GET' && o.metrics) {
    const text = renderMetrics(await o.metrics());
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
    return void res.end(text);
  }
  if (path === '/events' && req.method === 'GET' && o.chain) {
    const query = ChainQuery.safeParse(Object.fromEntries(new URL(req.url ?? '/', 'http://relengd').searchParams));
    if (!query.success) return sendJson(res, 400, { error: `GET /events?correlation=ID: ${query.error.issues.map((i) => i.message).join('; ')}` });
    return sendJson(res, 200, { correlation: query.data.correlation, events: await o.chain(query.data.correlation) });
  }
  if (path === '/events') {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST a CloudEvent to /events, or GET /events?correlation=ID' });
    const tooLarge = { status: 'rejected', reason: 'too-large', error: `body exceeds ${o.maxBodyBytes} bytes` };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > o.maxBodyBytes) return answerAndClose(req, res, 413, tooLarge);
    const body = await readBody(req, o.maxBodyBytes);
    if (body === null) return answerAndClose(req, res, 413, tooLarge);
    const publisher = identity.kind === 'publisher' ? identity.name : undefined;
    const outcome = await o.deliver(withPublisher(decodeHttpEvent(headerRecord(req), body, o.maxBodyBytes), publisher));
    const { status, body: reply } = httpResponseFor(outcome);
    return sendJson(res, status, reply);
  }
  // GET /replay is the dashboard's page for it.
  if (path === '/replay' && o.replay && req.method === 'POST') {
    const body = await readBody(req, o.maxBodyBytes);
    if (body === null) return answerAndClose(req, res, 413, { status: 'rejected', reason: 'too-large', error: `body exceeds ${o.maxBodyBytes} bytes` });
    const answer = await answerReplay(o.replay, identity, body);
    return sendJson(res, answer.status, answer.body);
  }
  if (dashboard && req.method === 'GET' && (await dashboard.handle(req, res, path ?? '/'))) return;
  sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
}

/** The query of `GET /events`: a chain, by the id of the message that started it. */
const ChainQuery = z.strictObject({ correlation: CorrelationId });

function identityOf(req: IncomingMessage, o: HttpServerOptions): RequestIdentity {
  const bearer = identify(req.headers.authorization, o.tokens);
  if (!o.tls?.ca) return bearer;
  return combineIdentities(identifyClientCertificate(req.socket as TLSSocket), bearer);
}

/**
 * Reads the body, or returns null as soon as it passes `limit` bytes. Reading then stops: the
 * request is left paused, so the rest is neither buffered nor read off the socket.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.pause();
      req.off('data', onData);
      resolve(null);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Answers and closes the connection without reading the rest of the request: the request is
 * marked as being consumed and left paused (else Node drains a whole unread body after the
 * response), and the socket is destroyed once the answer is written.
 */
function answerAndClose(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (req.listenerCount('data') === 0) req.on('data', () => {});
  req.pause();
  const socket = req.socket;
  res.once('finish', () => socket.destroy());
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, connection: 'close', 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The publisher is the authenticated identity and nothing else: set (or cleared) here whatever
 * the decoder produced, so no header, extension or body field can name it.
 */
function withPublisher(delivery: Delivery, publisher: string | undefined): Delivery {
  if (delivery.decoded instanceof MessageRejectedError) return delivery;
  return { ...delivery, decoded: { ...delivery.decoded, publisher } };
}

/** Request headers as kept with a delivery (and a rejection): without credentials. */
function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || SECRET_HEADERS.has(k.toLowerCase())) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
