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
import { CachedState, readingThrough } from '../pipeline/state-cache.ts';
import { allExecutors, type SignPoll } from '../jobs/executors/index.ts';
import { JobRunner } from '../jobs/runner.ts';
import { openRepo } from '../ostree/index.ts';
import type { ReplicaCoordination, StoreApi } from '../store/api.ts';
import { eventView } from '../store/events.ts';
import { openStore } from '../store/open.ts';
import { startHeartbeat } from './heartbeat.ts';
import { startPruning } from './pruning.ts';
import { catchUpOnStart } from './recovery.ts';
import { droppedMetric, silenceMetrics, transportMetrics } from './bus-metrics.ts';
import { StoreMetrics } from './store-metrics.ts';
import { relengdVersion } from './version.ts';
import { bindFromOutside } from '../trust.ts';

export interface Daemon {
  store: StoreApi;
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
  const store: StoreApi = await openStore(config);
  // Registered before any claim: the heartbeat keeps this replica's leases from the first job on.
  // Late-bound: a renewal that lost a running job's lease stops that job here (the runner is made below).
  let leasesRenewed: ((jobs: readonly string[]) => void) | undefined;
  await store.replicas?.start({
    onBeat: (beat) => {
      leasesRenewed?.(beat.jobs);
      if (beat.requeued?.length) logger.warn({ component: 'replicas', jobs: beat.requeued }, "queued again the running jobs of a replica whose lease lapsed (it died or lost the database): another replica runs them now");
    },
    onError: (error) => logger.warn({ component: 'replicas', err: error }, "renewing this replica's leases failed; trying again at the next renewal"),
  });
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
      void runner?.kick(); // never rejects
      publish();
    },
  });
  // The signing saga's records, read as the listeners read them (sync), each value fetched once.
  const standOf = (commit: string) => {
    const state = new CachedState(store);
    return readingThrough(state, () => signingStand(state, commit));
  };
  runner = new JobRunner({
    store,
    executors: allExecutors({ openRepo: (path) => openRepo(path), generator: `relengd ${relengdVersion()}`, signPoll: options.signPoll, signingStand: standOf }),
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
  leasesRenewed = (renewed) => jobs.leasesRenewed(renewed);
  const intake = new Intake({ store, config, clock, logger, maxMessageBytes: config.http.maxBodyBytes, onCommitted: () => dispatcher.schedule() });

  await catchUpOnStart({ config, store, intake, clock, logger, topics: router.patterns().filter((p) => bindFromOutside(p, config.publishers)), fetchImpl: options.fetchImpl });
  const recovered = await dispatcher.drain();
  if (recovered.dispatched + recovered.failed > 0) logger.info({ component: 'daemon', ...recovered }, 'dispatched events left pending by the last run');

  if (config.dryRun) logger.warn({ component: 'daemon' }, 'dry run: jobs are enqueued and events emitted in the store, but nothing runs and nothing is published');
  else {
    const { requeued } = await jobs.start();
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
    ready: () => ({ ready: transport.isReady() && store.isOpen(), detail: { transport: transport.name, connected: transport.isReady() } }),
    metrics: async () => [...(await storeMetrics.collect()), ...(await transportMetrics(transport)), ...(await silenceMetrics(silence)), droppedMetric(intake)],
    chain: async (correlationId) => (await store.events.query({ correlationId, order: 'asc', limit: CHAIN_LIMIT })).map(eventView),
    // Read functions only: the server never holds the store. The timeline's lines are the demo's.
    dashboard: createDashboardReads({ store, config, transport, silence, clock, describe: timelineLine }),
    // Between the dispatcher's passes, on this store; its effects wake the runner and the outbox as the dispatcher's do.
    replay: { operator: createOperatorReplay({ store, dispatcher, config, clock, onEffects: () => { void jobs.kick(); publish(); } }), publishers: config.publishers },
    tokens: httpTokens,
    tls: httpTls,
    limits: config.http,
  });

  const heartbeat = await startHeartbeat({ store, clock, url: http?.url ?? null, version: relengdVersion(), logger });
  // Replicas on one PostgreSQL store: each learns at once of the work the others add (NOTIFY), and
  // takes over a dead one's jobs and dispatcher turn once its lease lapses (the poll below).
  const unsubscribe = store.replicas ? await subscribeToReplicas(store.replicas, { dispatch: () => dispatcher.schedule(), runJobs: () => void jobs.kick(), publish }) : async () => {};
  // Events stored by other processes (relengd replay, publish while paused, another replica) are picked up here.
  const poll = setInterval(() => {
    dispatcher.schedule();
    if (store.replicas && !config.dryRun) void jobs.kick(); // a job requeued from a dead replica
  }, 2000);
  // After recovery and catch-up: they read the newest stored message, which pruning may delete.
  const pruning = startPruning({ store, retention: config.retention, jobsWorkdir: config.jobs.workdir, clock, logger });
  poll.unref();
  // Logged last: once it is out, everything above has started (tests gate on it).
  logger.info({ component: 'daemon', transport: transport.name, store: store.location, http: http?.url ?? null, streams: config.streams.length }, 'relengd started');
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
        const pendingEvents = (await store.events.query({ dispatchState: 'pending', limit: 1 })).length;
        const pendingJobs = (await store.jobs.list({ state: 'queued', limit: 1 })).length + jobs.runningCount();
        if (pendingEvents === 0 && pendingJobs === 0) break;
        void jobs.kick(); // never rejects
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await outbox.idle();
    },
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(poll);
        await unsubscribe();
        await heartbeat.stop();
        await pruning.stop();
        await http?.close();
        await jobs.stop();
        await calendar.stop();
        await silence.stop();
        await transport.stop();
        await dispatcher.drain();
        outbox.stop();
        await outbox.idle();
        await store.close();
        logger.info({ component: 'daemon' }, 'relengd stopped');
      })()),
  };
}

/** Wakes this replica's loops whenever any replica adds work. @returns a function that stops it. */
async function subscribeToReplicas(replicas: ReplicaCoordination, wake: { dispatch: () => void; runJobs: () => void; publish: () => void }): Promise<() => Promise<void>> {
  const stops = [await replicas.onWork('events', wake.dispatch), await replicas.onWork('jobs', wake.runJobs), await replicas.onWork('outbox', wake.publish)];
  return async () => {
    for (const stop of stops) await stop();
  };
}
