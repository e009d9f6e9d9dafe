/** What /metrics shows of the bus: the broker's backlog, watched topics, relengd's own topics dropped. */
import type { SilenceWatch } from '../bus/calendar/index.ts';
import type { Transport } from '../bus/transport.ts';
import type { Sample } from '../http/metrics.ts';
import type { Intake } from '../pipeline/intake.ts';

/** The transport's state, and what waits on the broker (asked at most every few seconds, see Transport.backlog; no sample when it cannot tell). */
export async function transportMetrics(transport: Transport): Promise<Sample[]> {
  const backlog = transport.backlog ? await transport.backlog() : null;
  return [
    { name: 'relengd_transport_ready', help: '1 when the transport is connected and consuming.', type: 'gauge', values: [{ labels: { transport: transport.name }, value: transport.isReady() ? 1 : 0 }] },
    {
      name: 'relengd_bus_backlog_messages',
      help: "Messages waiting on the broker for relengd: AMQP, ready in relengd's queue; Kafka, the consumer group's lag; embedded, 0.",
      type: 'gauge',
      values: backlog === null ? [] : [{ labels: { transport: transport.name }, value: backlog }],
    },
  ];
}

/** Watched topics (`watch`): quiet for longer than quietHours, and since when. */
export async function silenceMetrics(watch: SilenceWatch): Promise<Sample[]> {
  const topics = await watch.status();
  return [
    { name: 'relengd_bus_silent', help: 'Per watched topic: 1 when it has had no message for longer than its quietHours.', type: 'gauge', values: topics.map((t) => ({ labels: { topic: t.topic }, value: t.silent ? 1 : 0 })) },
    {
      name: 'relengd_last_message_age_seconds',
      help: 'Per watched topic: seconds since its newest stored message (none when no message is stored).',
      type: 'gauge',
      values: topics.flatMap((t) => (t.ageSeconds === null ? [] : [{ labels: { topic: t.topic }, value: t.ageSeconds }])),
    },
  ];
}

/** relengd's own topics that came from outside (another instance on a shared broker, a forger over HTTP). */
export function droppedMetric(intake: Intake): Sample {
  return {
    name: 'relengd_foreign_events_dropped_total',
    help: "Messages on relengd's own topics that arrived from a transport: never stored or dispatched (counted since start).",
    type: 'counter',
    values: [...intake.droppedOwnTopics()].map(([transport, n]) => ({ labels: { transport }, value: n })),
  };
}
