/** The dashboard's path parameters, validated where they enter (they come from URLs anyone can type). */
import { z } from 'zod';
import { SAFE_VALUE, SAFE_VALUE_HINT } from '../../trust.ts';

/** A correlation id: the id of the message that started a chain (`GET /events?correlation=`, `/chains/<id>`). */
export const CorrelationId = z
  .string()
  .min(1, 'correlation must not be empty')
  .max(256, 'correlation is at most 256 characters')
  .regex(/^[\x21-\x7e]+$/, 'correlation is one word of visible ASCII');

/** A group, a version or a job id: values relengd itself only accepts in this grammar. */
export const SafeName = z.string().regex(SAFE_VALUE, SAFE_VALUE_HINT);
