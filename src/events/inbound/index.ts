import type { TopicSpec } from '../catalogue.ts';

/** Inbound topics (without deployment prefix) and their body schemas. */
export const inboundTopics = {} as const satisfies Record<string, TopicSpec>;
