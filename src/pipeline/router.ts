import { catalogue } from '../events/catalogue.ts';
import { topicMatches } from '../events/topics.ts';
import type { Listener } from './listener.ts';

/** Finds the listeners subscribed to a topic (AMQP-style patterns), in registration order. */
export class Router {
  readonly listeners: readonly Listener[];
  readonly #cache = new Map<string, readonly Listener[]>();

  constructor(listeners: readonly Listener[]) {
    const names = new Set<string>();
    const topics = Object.keys(catalogue);
    for (const l of listeners) {
      if (names.has(l.name)) throw new TypeError(`duplicate listener name ${l.name}`);
      names.add(l.name);
      // A subscription matching nothing is a typo: the listener would silently never run.
      for (const pattern of l.topics) {
        if (!topics.some((topic) => topicMatches(pattern, topic))) throw new TypeError(`listener ${l.name} subscribes to ${pattern}, which matches no topic of the event catalogue`);
      }
    }
    this.listeners = listeners;
  }

  match(topic: string): readonly Listener[] {
    let found = this.#cache.get(topic);
    if (!found) {
      found = this.listeners.filter((l) => l.topics.some((p) => topicMatches(p, topic)));
      this.#cache.set(topic, found);
    }
    return found;
  }

  /** Every pattern some listener subscribes to (the AMQP transport binds these). */
  patterns(): string[] {
    return [...new Set(this.listeners.flatMap((l) => l.topics))];
  }
}
