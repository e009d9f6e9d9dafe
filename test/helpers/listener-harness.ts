import type { Config } from '../../src/config/index.ts';
import { makeEnvelope, type Envelope } from '../../src/events/envelope.ts';
import type { Decision, Listener, ListenerContext } from '../../src/pipeline/listener.ts';

/**
 * Feeds events to one pure listener, keeping its state in a Map the way the runtime applies
 * patches: a test can state a sequence of events and read each decision.
 */
export function listenerHarness(listener: Listener, config: Config) {
  const state = new Map<string, unknown>();
  const context: ListenerContext = {
    config,
    state: {
      get: (ns, key) => state.get(`${ns}\0${key}`),
      list: (ns) => [...state].filter(([k]) => k.startsWith(`${ns}\0`)).map(([k, value]) => ({ key: k.slice(ns.length + 1), value })),
    },
  };
  let n = 0;
  return {
    state,
    get: (ns: string, key: string) => state.get(`${ns}\0${key}`),
    set: (ns: string, key: string, value: unknown) => void state.set(`${ns}\0${key}`, value),
    send(topic: string, data: unknown, options: { id?: string; time?: string; publisher?: string } = {}): Decision & { event: Envelope } {
      const event = { ...makeEnvelope({ topic, data, id: options.id ?? `event-${++n}`, time: options.time ?? '2026-11-26T10:00:00Z' }, { receivedAt: '2026-11-26T10:00:00Z' }), publisher: options.publisher };
      const decision = listener.handle(event, context);
      for (const p of decision.patches) {
        if (p.value === null) state.delete(`${p.namespace}\0${p.key}`);
        else state.set(`${p.namespace}\0${p.key}`, p.value);
      }
      return { ...decision, event };
    },
  };
}
