/**
 * The embedded transport in the contract: producers send CloudEvents over HTTP to relengd's
 * `POST /events` (the HTTP server serves the embedded bus's ingest), relengd's events go to
 * in-process subscribers.
 *
 * - Dead letters: there is no dead-letter queue; a rejected message is answered 4xx with its
 *   reason (and kept in the rejected table), so the sender is the one who learns why.
 * - Reconnect: the broker-side break is relengd cutting its HTTP connections (a restart of the
 *   listener, a proxy dropping them); the producer sends again what was not answered, on a new
 *   connection, and the inbox drops what it had.
 * - Publish confirms: "the broker" is the in-process subscribers; a publish is confirmed when each
 *   took the event, and one that throws refuses it.
 * - Replay by time: the embedded bus keeps no history but the store, so replay is `relengd replay
 *   --since` over stored events (`replayStored`), and what was "sent while relengd was down" is
 *   what it stored and did not dispatch before it went down.
 */
import { publishOverHttp, type PublishReply } from '../../../src/bus/embedded/client.ts';
import { EmbeddedTransport } from '../../../src/bus/embedded/transport.ts';
import { OutboxRelay } from '../../../src/bus/outbox-relay.ts';
import { systemClock } from '../../../src/clock.ts';
import { withPrefix } from '../../../src/events/topics.ts';
import { startHttpServer, type RunningHttpServer } from '../../../src/http/server.ts';
import { silentLogger } from '../../../src/log.ts';
import { replayStored } from '../../../src/pipeline/replay.ts';
import { expect } from 'vitest';
import { contractRetry, type AttachOptions, type BusUnderTest, type DeadLetter, type InboundMessage, type Relengd, type TransportAdapter } from './harness.ts';

/** Requests in flight at once: a producer with a connection pool. */
const CONCURRENCY = 16;
/** Attempts per message before the producer gives up (each failed attempt is a cut connection or a 503). */
const ATTEMPTS = 20;

export function embeddedAdapter(): TransportAdapter {
  return {
    name: 'embedded (CloudEvents over HTTP)',
    missing: null,
    setup: async () => undefined,
    teardown: async () => undefined,
    busYaml: () => 'bus: { transport: embedded }',
    attach,
    async sendWhileDown({ relengd, messages }) {
      // No broker keeps anything for relengd: these are messages it stored and then went down before dispatching.
      const ingest = await serveIngest(relengd);
      try {
        for (const m of messages) expect((await send(ingest.url, m)).status).toBe(202);
      } finally {
        await ingest.close();
      }
    },
    async replaySince({ relengd, since }) {
      // `relengd replay --since T --topic bodhi.compose.complete`: the messages from outside (relengd's own events are derived again from them).
      return (await replayStored(relengd.store, relengd.dispatcher, { since, topic: 'bodhi.compose.complete' }, { dryRun: false })).selected;
    },
    cleanUp: async () => undefined,
  };
}

async function attach(o: AttachOptions): Promise<BusUnderTest> {
  const { relengd } = o;
  const transport = new EmbeddedTransport();
  const published = new Set<string>();
  for (const topic of o.watch ?? []) transport.subscribe(withPrefix(topic, o.names.prefix), (item) => published.add(item.envelope.id));
  const outbox = new OutboxRelay({ store: relengd.store, transport, clock: systemClock, logger: silentLogger(), retry: contractRetry });
  await transport.start(relengd.accept);
  const ingest = await serveIngest(relengd);
  const rejections: DeadLetter[] = [];
  let resent = 0;
  let duplicates = 0;

  /** Sends until relengd answers (at least once, as a producer with retries does); keeps what a 4xx said. */
  const deliver = async (m: InboundMessage): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      let reply: PublishReply | null = null;
      try {
        reply = await send(ingest.url, m);
      } catch (error) {
        // The connection was cut before an answer: the producer does not know whether it was stored.
        if (attempt >= ATTEMPTS) throw error;
      }
      if (reply && reply.status < 500) {
        if (reply.body.status === 'duplicate') duplicates++;
        if (reply.status >= 400) rejections.push({ id: m.id, reason: String(reply.body.reason) });
        return;
      }
      if (attempt >= ATTEMPTS) throw new Error(`no answer for ${m.id} after ${attempt} attempts (last: ${reply?.status})`);
      resent++;
    }
  };

  return {
    transport,
    outbox,
    async send(messages) {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, messages.length) }, async () => {
          while (next < messages.length) await deliver(messages[next++]!);
        }),
      );
    },
    async sendUndecodable({ topic, id }) {
      // A binary-mode CloudEvent whose data is cut off.
      const response = await fetch(`${ingest.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': id, 'ce-type': topic, 'ce-source': '/contract', 'ce-topic': topic },
        body: '{"repo": ',
      });
      const body = (await response.json()) as { reason?: string };
      if (response.status >= 400) rejections.push({ id, reason: String(body.reason) });
    },
    deadLettered: async () => [...rejections],
    published: async () => published,
    async interrupt() {
      ingest.server.closeAllConnections();
    },
    async expectInterrupted() {
      // Requests cut off were sent again; those stored before the cut were answered duplicate.
      expect(resent).toBeGreaterThan(0);
      expect(duplicates).toBeGreaterThan(0);
    },
    async refusePublishing() {
      transport.subscribe('#', () => {
        throw new Error('a subscriber refuses the event (test)');
      });
    },
    async stop() {
      outbox.stop();
      await ingest.close();
      await transport.stop();
    },
  };
}

/** relengd's HTTP ingest (the embedded bus's) on a free loopback port. */
function serveIngest(relengd: Relengd): Promise<RunningHttpServer> {
  return startHttpServer({
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: relengd.config.http.maxBodyBytes,
    logger: silentLogger(),
    deliver: relengd.acceptOne,
    health: () => ({}),
    ready: () => ({ ready: true, detail: {} }),
  });
}

function send(url: string, m: InboundMessage): Promise<PublishReply> {
  return publishOverHttp(url, { topic: m.topic, id: m.id, body: m.body, headers: m.sentAt ? { 'sent-at': m.sentAt } : {} });
}
