import type { Config } from '../config/index.ts';
import type { Envelope } from '../events/envelope.ts';
import type { Topic, TopicPattern } from '../events/catalogue.ts';

/** Read-only view of listener state, as of this event (earlier decisions in the same transaction included). */
export interface StateView {
  get(namespace: string, key: string): unknown;
  list(namespace: string): ReadonlyArray<{ key: string; value: unknown }>;
}

export interface ListenerContext {
  readonly config: Config;
  readonly state: StateView;
}

/** An event to emit. Its id derives from the cause, the listener and `key` (`emittedEventId`). */
export interface Emit {
  topic: Topic;
  key: string;
  subject?: string | undefined;
  data: unknown;
}

/** A job to enqueue. Its id derives from the cause, the listener and `key` (`jobId`). */
export interface EnqueueJob {
  kind: string;
  key: string;
  /** Jobs sharing a queue key run one at a time (composes of one ref). */
  queueKey: string;
  spec: unknown;
}

/** A state change: `value: null` deletes the key. */
export interface StatePatch {
  namespace: string;
  key: string;
  value: unknown;
}

export interface Decision {
  emit: Emit[];
  jobs: EnqueueJob[];
  patches: StatePatch[];
}

/**
 * A listener: a pure function of an event and state to decisions. No I/O, no clock (the event's
 * `time` is "now"), no awaiting: the runtime applies the decision atomically with the event.
 */
export interface Listener {
  readonly name: string;
  /** Bare catalogue topics, or AMQP-style patterns that match at least one (the router checks). */
  readonly topics: readonly TopicPattern[];
  handle(event: Envelope, context: ListenerContext): Decision;
}

export const nothing = (): Decision => ({ emit: [], jobs: [], patches: [] });
