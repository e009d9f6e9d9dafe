import type { TopicSpec } from '../catalogue.ts';

export const relengdTopics = {} as const satisfies Record<string, TopicSpec>;
