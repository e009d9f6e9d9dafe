import type { Listener } from '../listener.ts';
import { updatesMashed } from './updates-mashed.ts';

/** Every listener, in dispatch order. */
export const allListeners: readonly Listener[] = [updatesMashed];
