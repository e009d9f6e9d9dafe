import type { Listener } from '../listener.ts';
import { artifacts } from './artifacts.ts';
import { composeCommand } from './compose-command.ts';
import { composeTracker } from './compose-tracker.ts';
import { composer } from './composer.ts';
import { promoter } from './promoter.ts';
import { tagChanged } from './tag-changed.ts';
import { updatesMashed } from './updates-mashed.ts';

/** Every listener, in dispatch order: triggers, then the compose queue, artifacts, the join, promotion. */
export const allListeners: readonly Listener[] = [updatesMashed, tagChanged, composeCommand, composer, artifacts, composeTracker, promoter];
