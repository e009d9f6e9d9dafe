import { z } from 'zod';
import { SAFE_VALUE, SAFE_VALUE_HINT } from '../../trust.ts';

/**
 * A value that may end up in a command line or a file name (a version, a compose id, a group, an
 * artifact name): checked by the schema at the edge, so a violation is a rejected message with its
 * reason, never a job.
 */
export const SafeValue = z.string().regex(SAFE_VALUE, `must be ${SAFE_VALUE_HINT}`);
