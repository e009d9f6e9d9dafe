import { assertTlsFilesReadable } from '../bus/amqp/index.ts';
import { createClient } from '../bus/kafka/connection.ts';
import type { Config } from '../config/index.ts';
import { assertListenerAllowed, BearerTokens, readServerTls, type ServerTls } from '../http/auth.ts';
import { silentLogger } from '../log.ts';
import { defaultRetry } from '../retry.ts';

export interface PreflightResult {
  httpTokens: BearerTokens | undefined;
  httpTls: ServerTls | undefined;
}

/**
 * Everything `start` refuses before it opens anything, without connecting anywhere: token files
 * and variables, TLS material, a public listener without authentication, the transport's
 * credentials. `config check` runs the same checks, so it passes exactly what `start` accepts
 * (up to the network).
 * @throws ConfigError naming the key at fault
 */
export function preflight(config: Config, options: { serveHttp: boolean; env?: NodeJS.ProcessEnv }): PreflightResult {
  const env = options.env ?? process.env;
  const httpTokens = options.serveHttp ? BearerTokens.load(config.http.auth.tokens, env) : undefined;
  const httpTls = options.serveHttp && config.http.tls ? readServerTls(config.http.tls) : undefined;
  if (options.serveHttp) assertListenerAllowed(config.http.host, httpTokens, httpTls?.ca !== undefined);
  switch (config.bus.transport) {
    case 'amqp':
      assertTlsFilesReadable(config.bus.amqp);
      break;
    case 'kafka':
      // Making the client reads its TLS files and SASL password; it connects only when used.
      createClient({ config: config.bus.kafka, logger: silentLogger(), retry: defaultRetry, env });
      break;
    case 'embedded':
      break;
  }
  return { httpTokens, httpTls };
}
