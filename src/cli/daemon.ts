import { createBatcher } from '../bus/batcher.ts';
import { EmbeddedTransport } from '../bus/embedded/transport.ts';
import { OutboxRelay } from '../bus/outbox-relay.ts';
import type { Transport } from '../bus/transport.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { ConfigError } from '../errors.ts';
import { startHttpServer, type RunningHttpServer } from '../http/server.ts';
import type { Logger } from '../log.ts';
import { Dispatcher } from '../pipeline/dispatcher.ts';
import { Intake } from '../pipeline/intake.ts';
import { allListeners } from '../pipeline/listeners/index.ts';
import { Router } from '../pipeline/router.ts';
import { Store } from '../store/store.ts';

export interface Daemon {
  store: Store;
  transport: Transport;
  http: RunningHttpServer;
  dispatcher: Dispatcher;
  intake: Intake;
  outbox: OutboxRelay;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Overrides the configured transport (tests, the demo). */
  transport?: Transport;
}

function createTransport(config: Config): Transport {
  switch (config.bus.transport) {
    case 'embedded':
      return new EmbeddedTransport();
    case 'amqp':
    case 'kafka':
      throw new ConfigError('bus.transport', `the ${config.bus.transport} transport is not available in this build yet; use embedded`);
  }
}

/**
 * Starts relengd: the store, the pipeline, the transport, the outbox relay and the HTTP server.
 * Events stored but not dispatched before a crash are dispatched first.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const store = Store.open(config.store.path);
  const transport = options.transport ?? createTransport(config);
  const outbox = new OutboxRelay({ store, transport, clock, logger });
  const dispatcher = new Dispatcher({ store, router: new Router(allListeners), config, clock, logger, onEffects: () => outbox.schedule() });
  const intake = new Intake({ store, config, clock, logger, maxMessageBytes: config.http.maxBodyBytes, onCommitted: () => dispatcher.schedule() });

  const recovered = await dispatcher.drain();
  if (recovered.dispatched + recovered.failed > 0) logger.info({ component: 'daemon', ...recovered }, 'dispatched events left pending by the last run');

  const accept = (batch: Parameters<Intake['accept']>[0]) => intake.accept(batch);
  await transport.start(async (batch) => accept(batch));
  outbox.schedule();
  const http = await startHttpServer({
    host: config.http.host,
    port: config.http.port,
    maxBodyBytes: config.http.maxBodyBytes,
    logger,
    deliver: createBatcher(accept),
    health: () => ({ transport: transport.name }),
    ready: () => ({ ready: transport.isReady() && store.db.isOpen, detail: { transport: transport.name, connected: transport.isReady() } }),
  });
  logger.info({ component: 'daemon', transport: transport.name, store: store.path, http: http.url, streams: config.streams.length }, 'relengd started');

  let stopping: Promise<void> | null = null;
  return {
    store,
    transport,
    http,
    dispatcher,
    intake,
    outbox,
    stop: () =>
      (stopping ??= (async () => {
        await http.close();
        await transport.stop();
        await dispatcher.drain();
        outbox.stop();
        await outbox.idle();
        store.close();
        logger.info({ component: 'daemon' }, 'relengd stopped');
      })()),
  };
}
