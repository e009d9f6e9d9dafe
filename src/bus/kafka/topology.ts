/**
 * Which Kafka topics relengd reads and writes. Kafka has no routing keys: a bus topic is a Kafka
 * topic of the same name (`org.fedoraproject.prod.bodhi.compose.complete`), which Kafka's topic
 * naming rules allow. relengd subscribes to the topics its listeners need (with and without the
 * deployment prefix, as the AMQP transport binds them) plus `bus.kafka.topics`, publishes each of
 * its events on the topic named by its full routing key, and dead-letters to `bus.kafka.deadLetter`.
 *
 * Topics are not created by relengd except the dead-letter topic (when the cluster lets it):
 * partitions, replication and retention are the cluster operator's decisions. A consumed topic that
 * does not exist yet is left out (and logged) until the next start: kafkajs subscribes to names
 * known when the group is joined.
 */
import type { Admin } from 'kafkajs';
import { topicMatches, withPrefix } from '../../events/topics.ts';

/** Kafka topic names: letters, digits, `.`, `_`, `-`, at most 249 characters. */
const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * The Kafka topics for the listeners' topic patterns: each with the deployment prefix and without
 * it, plus `extra`; no duplicates. Patterns with wildcards (`*`, `#`) cannot name a Kafka topic:
 * they are returned apart, to be matched against the cluster's topics ({@link resolveTopics}).
 */
export function topicsFor(patterns: readonly string[], topicPrefix: string, extra: readonly string[] = []): { names: string[]; wildcards: string[] } {
  const names = new Set<string>();
  const wildcards = new Set<string>();
  for (const pattern of patterns) {
    for (const topic of topicPrefix ? [pattern, withPrefix(pattern, topicPrefix)] : [pattern]) {
      if (KAFKA_TOPIC.test(topic)) names.add(topic);
      else wildcards.add(topic);
    }
  }
  for (const topic of extra) names.add(topic);
  return { names: [...names], wildcards: [...wildcards] };
}

export interface ResolvedTopics {
  /** Topics that exist: subscribed. */
  subscribe: string[];
  /** Wanted but not on the cluster. */
  missing: string[];
}

/** Splits the wanted topics into those on the cluster and those not; wildcard patterns pick up the cluster's matching topics. */
export function resolveTopics(wanted: { names: readonly string[]; wildcards: readonly string[] }, existing: readonly string[], exclude: readonly string[] = []): ResolvedTopics {
  const have = new Set(existing);
  const skip = new Set(exclude);
  const subscribe = new Set<string>();
  const missing: string[] = [];
  for (const name of wanted.names) {
    if (skip.has(name)) continue;
    if (have.has(name)) subscribe.add(name);
    else missing.push(name);
  }
  for (const topic of existing) {
    if (!skip.has(topic) && wanted.wildcards.some((pattern) => topicMatches(pattern, topic))) subscribe.add(topic);
  }
  return { subscribe: [...subscribe].sort(), missing: missing.sort() };
}

/**
 * Reads the cluster's topics and creates the dead-letter topic when it is missing (with the
 * cluster's default partitions and replication). Creating it may be refused (ACLs, auto-creation
 * off): the returned `deadLetterReady` then says so, and the first dead letter tries again (the
 * producer may auto-create it).
 */
export async function prepareTopics(admin: Admin, deadLetter: string): Promise<{ existing: string[]; deadLetterReady: boolean; error?: unknown }> {
  const existing = await admin.listTopics();
  if (existing.includes(deadLetter)) return { existing, deadLetterReady: true };
  try {
    await admin.createTopics({ topics: [{ topic: deadLetter }], waitForLeaders: true });
    return { existing: [...existing, deadLetter], deadLetterReady: true };
  } catch (error) {
    return { existing, deadLetterReady: false, error };
  }
}
