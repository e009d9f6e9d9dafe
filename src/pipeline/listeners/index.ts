import type { Listener } from '../listener.ts';
import { artifacts } from './artifacts.ts';
import { composeCommand } from './compose-command.ts';
import { composeTracker } from './compose-tracker.ts';
import { composer } from './composer.ts';
import { imageIndex } from './image-index.ts';
import { jobControl } from './job-control.ts';
import { promoter } from './promoter.ts';
import { pungiOstree } from './pungi-ostree.ts';
import { pungiTracker } from './pungi-tracker.ts';
import { rollback } from './rollback.ts';
import { scheduleFired } from './schedule-fired.ts';
import { signer } from './signer.ts';
import { tagChanged } from './tag-changed.ts';
import { updatesMashed } from './updates-mashed.ts';

/** Every listener, in dispatch order: triggers (Pungi's commits among them), then the compose queue, artifacts, container images' manifest lists (before the joins: a list is queued ahead of the promotion it serves), the joins (relengd's composes, Pungi's), signing (before promotion: a signature verified is seen by the "signed" gate of the same event), promotion and rollback; operators' job control. */
export const allListeners: readonly Listener[] = [updatesMashed, tagChanged, scheduleFired, composeCommand, pungiOstree, composer, artifacts, imageIndex, composeTracker, pungiTracker, signer, promoter, rollback, jobControl];
