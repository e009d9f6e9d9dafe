import { z } from 'zod';
import { SafeValue } from './safe-value.ts';

/**
 * relengd.compose.request: an operator asks for a compose now, of one stream or of every stream of a
 * group, as if its trigger had fired. Who asked is the identity the transport authenticated.
 */
export const ComposeRequest = z
  .looseObject({
    stream: SafeValue.optional(),
    group: SafeValue.optional(),
    comment: z.string().max(4096).optional(),
  })
  .refine((body) => (body.stream === undefined) !== (body.group === undefined), { message: 'give exactly one of stream and group' });
export type ComposeRequest = z.infer<typeof ComposeRequest>;
