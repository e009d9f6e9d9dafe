import { createBatcher } from '../bus/batcher.ts';
import { createCalendar, createSilenceWatch, type CalendarSource, type SilenceWatch, type Wakeups } from '../bus/calendar/index.ts';
import { AmqpTransport, bindingKeysFor } from '../bus/amqp/index.ts';
import { EmbeddedTransport } from '../bus/embedded/transport.ts';
import { KafkaTransport } from '../bus/kafka/index.ts';
import { OutboxRelay } from '../bus/outbox-relay.ts';
import type { Transport } from '../bus/transport.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { preflight } from './preflight.ts';
import { startHttpServer, type RunningHttpServer } from '../http/server.ts';
import { createDashboardReads } from '../http/dashboard/source.ts';
import { timelineLine } from './demo/timeline.ts';
import type { Logger } from '../log.ts';
import { Dispatcher } from '../pipeline/dispatcher.ts';
import { Intake } from '../pipeline/intake.ts';
import { createOperatorReplay } from '../pipeline/operator-replay.ts';
import { allListeners } from '../pipeline/listeners/index.ts';
import { signingStand } from '../pipeline/listeners/sign-state.ts';
import { Router } from '../pipeline/router.ts';
import { allExecutors, type SignPoll } from '../jobs/executors/index.ts';
import { JobRunner } from '../jobs/runner.ts';
import { openRepo } from '../ostree/index.ts';
import { eventView } from '../store/events.ts';
import { Store } from '../store/store.ts';
import { startHeartbeat } from './heartbeat.ts';
import { startPruning } from './pruning.ts';
import { catchUpOnStart } from './recovery.ts';
import { droppedMetric, silenceMetrics, transportMetrics } from './bus-metrics.ts';
import { StoreMetrics } from './store-metrics.ts';
import { relengdVersion } from './version.ts';
import { bindFromOutside } from '../trust.ts';

export interface Daemon {
  store: Store;
  transport: Transport;
  http: RunningHttpServer | null;
  dispatcher: Dispatcher;
  intake: Intake;
  outbox: OutboxRelay;
  runner: JobRunner;
  /** `triggers.schedule`: time as an event source. */
  calendar: CalendarSource;
  /** `watch`: topics that must not go quiet. */
  silence: SilenceWatch;
  /** Resolves when nothing is left to do: no pending event, no queued or running job. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Overrides the configured transport (tests, the demo). */
  transport?: Transport;
  /** Serve HTTP (ingest, health). The demo feeds messages in process and does without. @default true */
  serveHttp?: boolean;
  /** For the datagrepper catch-up (tests serve pages locally). */
  fetchImpl?: typeof fetch;
  /** The calendar's timers (tests move time with `clock` instead of waiting). */
  wakeups?: Wakeups;
  /** How often a job waiting for a signature looks at the commit (the demo and tests look often). @default DEFAULT_SIGN_POLL */
  signPoll?: SignPoll;
}

function createTransport(config: Config, router: Router, logger: Logger, clock: Clock, onReady: () => void): Transport {
  switch (config.bus.transport) {
    case 'embedded':
      return new EmbeddedTransport();
    case 'amqp':
      return new AmqpTransport({
        config: config.bus.amqp,
        topicPrefix: config.topicPrefix,
        // Only what may come from outside (src/trust.ts): relengd's own events reach its listeners from the store.
        bindingKeys: bindingKeysFor(router.patterns().filter((p) => bindFromOutside(p, config.publishers)), config.topicPrefix, config.bus.amqp.bindings),
        logger,
        clock,
        onReady,
      });
    case 'kafka':
      return new KafkaTransport({
        config: config.bus.kafka,
        topicPrefix: config.topicPrefix,
        // As on AMQP: only what may come from outside (src/trust.ts); Kafka deliveries carry no identity.
        patterns: router.patterns().filter((p) => bindFromOutside(p, config.publishers)),
        logger,
        clock,
        onReady,
      });
  }
}

/** A chain longer than this is cut (oldest kept): a client follows the start of what it asked for. */
const CHAIN_LIMIT = 1000;

/**
 * Starts relengd: the store, the pipeline, the transport, the outbox relay and the HTTP server.
 * Events stored but not dispatched before a crash are dispatched first.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  // Before anything opens: a missing token or an unauthenticated public listener is a config error (exit 2), not a half-started daemon.
  const { httpTokens, httpTls } = preflight(config, { serveHttp: options.serveHttp !== false });
  const store = Store.open(config.store.path, { rejectedRawBytes: config.retention.rejectedRawBytes });
  const router = new Router(allListeners);
  // In a dry run nothing leaves: decisions are stored and logged, never published or run.
  const publish = (): void => {
    if (!config.dryRun) outbox.schedule();
  };
  const transport = options.transport ?? createTransport(config, router, logger, clock, publish);
  const outbox = new OutboxRelay({ store, transport, clock, logger });
  // Late-bound: the runner and the dispatcher wake each other (new jobs; job results to dispatch).
  let runner: JobRunner | undefined;
  const dispatcher = new Dispatcher({
    store,
    router,
    config,
    clock,
    logger,
    onEffects: () => {
      runner?.kick();
      publish();
    },
  });
  runner = new JobRunner({
    store,
    executors: allExecutors({ openRepo: (path) => openRepo(path), generator: `relengd ${relengdVersion()}`, signPoll: options.signPoll, signingStand: (commit) => signingStand(store.state, commit) }),
    concurrency: config.jobs.concurrency,
    workdir: config.jobs.workdir,
    timeoutMs: config.jobs.timeoutMinutes * 60_000,
    clock,
    logger,
    topicPrefix: config.topicPrefix,
    onFinished: () => {
      dispatcher.schedule();
      publish();
    },
  });
  const jobs = runner;
  const intake = new Intake({ store, config, clock, logger, maxMessageBytes: config.http.maxBodyBytes, onCommitted: () => dispatcher.schedule() });

  await catchUpOnStart({ config, store, intake, clock, logger, topics: router.patterns().filter((p) => bindFromOutside(p, config.publishers)), fetchImpl: options.fetchImpl });
  const recovered = await dispatcher.drain();
  if (recovered.dispatched + recovered.failed > 0) logger.info({ component: 'daemon', ...recovered }, 'dispatched events left pending by the last run');

  if (config.dryRun) logger.warn({ component: 'daemon' }, 'dry run: jobs are enqueued and events emitted in the store, but nothing runs and nothing is published');
  else {
    const { requeued } = jobs.start();
    if (requeued.length > 0) logger.info({ component: 'daemon', jobs: requeued }, 'requeued jobs interrupted by the last run');
  }

  const accept = (batch: Parameters<Intake['accept']>[0]) => intake.accept(batch);
  await transport.start(async (batch) => accept(batch));
  // After recovery: a missed slot fires once, and goes through the intake like any message.
  const calendar = createCalendar({ config, store, clock, logger, wakeups: options.wakeups });
  await calendar.start(async (batch) => accept(batch));
  const silence = createSilenceWatch({ config, store, clock, logger, wakeups: options.wakeups });
  await silence.start(async (batch) => accept(batch));
  publish();
  const storeMetrics = new StoreMetrics({ store, config, clock });
  const http: RunningHttpServer | null = options.serveHttp === false ? null : await startHttpServer({
    host: config.http.host,
    port: config.http.port,
    maxBodyBytes: config.http.maxBodyBytes,
    logger,
    deliver: createBatcher(accept),
    health: () => ({ transport: transport.name }),
    ready: () => ({ ready: transport.isReady() && store.db.isOpen, detail: { transport: transport.name, connected: transport.isReady() } }),
    metrics: async () => [...storeMetrics.collect(), ...(await transportMetrics(transport)), ...silenceMetrics(silence), droppedMetric(intake)],
    chain: (correlationId) => store.events.query({ correlationId, order: 'asc', limit: CHAIN_LIMIT }).map(eventView),
    // Read functions only: the server never holds the store. The timeline's lines are the demo's.
    dashboard: createDashboardReads({ store, config, transport, silence, clock, describe: timelineLine }),
    // Between the dispatcher's passes, on this store; its effects wake the runner and the outbox as the dispatcher's do.
    replay: { operator: createOperatorReplay({ store, dispatcher, config, clock, onEffects: () => { jobs.kick(); publish(); } }), publishers: config.publishers },
    tokens: httpTokens,
    tls: httpTls,
    limits: config.http,
  });
  logger.info({ component: 'daemon', transport: transport.name, store: store.path, http: http?.url ?? null, streams: config.streams.length }, 'relengd started');

  const heartbeat = startHeartbeat({ store, clock, url: http?.url ?? null, version: relengdVersion(), logger });
  // Events stored by other processes (relengd replay, publish while paused) are picked up here.
  const poll = setInterval(() => dispatcher.schedule(), 2000);
  // After recovery and catch-up: they read the newest stored message, which pruning may delete.
  const pruning = startPruning({ store, retention: config.retention, jobsWorkdir: config.jobs.workdir, clock, logger });
  poll.unref();
  let stopping: Promise<void> | null = null;
  return {
    store,
    transport,
    http,
    dispatcher,
    intake,
    outbox,
    runner: jobs,
    calendar,
    silence,
    idle: async () => {
      for (;;) {
        await dispatcher.drain();
        await jobs.idle();
        const pendingEvents = store.events.query({ dispatchState: 'pending', limit: 1 }).length;
        const pendingJobs = store.jobs.list({ state: 'queued', limit: 1 }).length + jobs.runningCount();
        if (pendingEvents === 0 && pendingJobs === 0) break;
        jobs.kick();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await outbox.idle();
    },
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(poll);
        heartbeat.stop();
        await pruning.stop();
        await http?.close();
        await jobs.stop();
        await calendar.stop();
        await silence.stop();
        await transport.stop();
        await dispatcher.drain();
        outbox.stop();
        await outbox.idle();
        store.close();
        logger.info({ component: 'daemon' }, 'relengd stopped');
      })()),
  };
}
