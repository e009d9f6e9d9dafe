import type { z } from 'zod';
import { inboundTopics } from './inbound/index.ts';
import { relengdTopics } from './relengd/index.ts';
import { jobTopics } from './relengd/jobs.ts';
import { rollbackTopics } from './relengd/rollback.ts';
import { imageTopics } from './relengd/image.ts';
import { replayTopics } from './relengd/replay.ts';
import { signTopics } from './relengd/sign.ts';

/** One topic of the catalogue: the schema of its data (the message body) and what it means. */
export interface TopicSpec {
  readonly schema: z.ZodType;
  readonly summary: string;
  /** Inbound topics come from other systems; relengd topics are published by relengd (and `release.approve` by people). */
  readonly origin: 'inbound' | 'relengd';
}

/** Every topic relengd understands, keyed by the topic name without deployment prefix. */
export const catalogue = { ...inboundTopics, ...relengdTopics, ...jobTopics, ...rollbackTopics, ...replayTopics, ...imageTopics, ...signTopics } as const satisfies Record<string, TopicSpec>;

export type Topic = keyof typeof catalogue;

/**
 * What a listener subscribes to: a catalogue topic, or an AMQP-style pattern (`*` one word, `#` zero
 * or more). A plain name is checked against the catalogue by the compiler; a pattern cannot be, so
 * the router refuses one that matches no catalogue topic.
 */
export type TopicPattern = Topic | `${string}*${string}` | `${string}#${string}`;
export type TopicData<T extends Topic> = z.infer<(typeof catalogue)[T]['schema']>;

export function isTopic(name: string): name is Topic {
  return Object.hasOwn(catalogue, name);
}

export function topicSpec(name: string): TopicSpec | undefined {
  return isTopic(name) ? catalogue[name] : undefined;
}
